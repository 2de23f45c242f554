#!/usr/bin/env Rscript
# Golden values for survey-audit's statistics core, computed with R's survey package.
#
#   Rscript tests/golden/make_golden.R [OUTDIR]
#
# writes OUTDIR/<block>.json for every block below (default OUTDIR: the directory of this script) and the data
# each block uses as CSV fixtures under OUTDIR/data/, so the Python golden tests run without R.
# Needs R with the survey, MASS and jsonlite packages (Debian: r-base-core r-cran-survey r-cran-mass
# r-cran-jsonlite). Numbers are written with 17 significant digits (exact round trip).
#
# Structure: each block is a function returning a named list of results; `blocks` at the bottom lists them.
# To add a dataset (e.g. the project's survey waves), write one more golden_<name>() function that exports its
# data with export_csv() and returns its results, and add it to `blocks`.
#
# Conventions the Python tests rely on: numeric results are plain numbers or arrays; categories are listed
# beside their values; a design-df result has `df`; NA/NaN are null and infinities the strings "Inf"/"-Inf".

suppressPackageStartupMessages({
  library(survey)
  library(MASS)
  library(jsonlite)
})
options(survey.lonely.psu = "fail", survey.adjust.domain.lonely = FALSE, survey.replicates.mse = FALSE,
        warn = 1)

args <- commandArgs(trailingOnly = TRUE)
script_dir <- local({
  file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(file)) dirname(normalizePath(file)) else getwd()
})
outdir <- if (length(args)) args[1] else script_dir
dir.create(file.path(outdir, "data"), recursive = TRUE, showWarnings = FALSE)

# ---- helpers --------------------------------------------------------------------------------------------------

# Shortest of 15 or 17 significant digits that reads back to the same double.
exact_text <- function(x) {
  short <- sprintf("%.15g", x)
  out <- ifelse(suppressWarnings(as.numeric(short)) == x, short, sprintf("%.17g", x))
  out[is.na(x)] <- NA
  out
}

export_csv <- function(frame, name) {
  path <- file.path(outdir, "data", paste0(name, ".csv"))
  text <- frame
  numeric_cols <- vapply(frame, is.numeric, TRUE)
  for (col in names(frame)[numeric_cols]) text[[col]] <- exact_text(frame[[col]])
  write.csv(text, path, row.names = FALSE, quote = which(!numeric_cols), na = "NA")
  back <- read.csv(path, colClasses = c(cds = "character"))
  for (col in names(frame)) {
    if (is.numeric(frame[[col]]) && !identical(as.numeric(frame[[col]]), as.numeric(back[[col]])))
      stop("CSV round trip changed column ", col, " of ", name)
  }
  invisible(path)
}

stat <- function(s) {
  out <- list(estimate = as.vector(coef(s)), se = as.vector(SE(s)))
  d <- attr(s, "deff")
  if (!is.null(d)) out$deff <- unname(if (is.matrix(d)) diag(d) else d)
  out
}

ciprop <- function(formula, design, method, level = 0.95, ...) {
  r <- svyciprop(formula, design, method = method, level = level, ...)
  list(estimate = as.numeric(coef(r)), se = sqrt(as.numeric(vcov(r))), ci = unname(as.vector(attr(r, "ci"))))
}

# Korn-Graubard computed from its formula, for the variants R does not offer (design df, NCHS truncation).
kg_formula <- function(p, se, n, df, level = 0.95, truncate = FALSE) {
  a <- 1 - level
  n_eff <- p * (1 - p) / se^2 * (qt(a / 2, n - 1) / qt(a / 2, df))^2
  if (truncate) n_eff <- min(n_eff, n)
  c(qbeta(a / 2, n_eff * p, n_eff * (1 - p) + 1), qbeta(1 - a / 2, n_eff * p + 1, n_eff * (1 - p)))
}

# R 4.5's survey Wilson interval (not in survey 4.1): unadjusted n_eff, t on the design df.
wilson_formula <- function(p, se, df, level = 0.95) {
  n_eff <- p * (1 - p) / se^2
  z <- qt(1 - (1 - level) / 2, df)
  centre <- p + z^2 / (2 * n_eff)
  half <- z * sqrt(p * (1 - p) / n_eff + z^2 / (4 * n_eff^2))
  (centre + c(-1, 1) * half) / (1 + z^2 / n_eff)
}

chisq_all <- function(formula, design) {
  out <- list()
  for (s in c("F", "Chisq", "Wald", "adjWald")) {
    t <- svychisq(formula, design, statistic = s)
    out[[s]] <- list(statistic = as.numeric(t$statistic), parameter = unname(t$parameter), p = as.numeric(t$p.value))
  }
  out
}

# svyby results as groups x variables matrices.
# The intervals svyby stored from FUN (svyciprop's own interval; confint(svyby) would be a Wald interval).
by_ci <- function(b) unname(cbind(b$ci_l, b$ci_u))

by_stat <- function(b, deff = FALSE) {
  g <- nrow(b)
  out <- list(groups = as.character(b[[1]]), estimate = matrix(unname(coef(b)), nrow = g),
              se = matrix(unname(as.vector(as.matrix(SE(b)))), nrow = g))
  if (deff) out$deff <- matrix(unname(as.vector(as.matrix(deff(b)))), nrow = g)
  out
}

weights_summary <- function(design) {
  w <- weights(design)
  list(weights = unname(w), sum = sum(w), min = min(w), max = max(w),
       kish_deff = length(w) * sum(w^2) / sum(w)^2, kish_neff = sum(w)^2 / sum(w^2))
}

# svyglm converged to the fixed point (glm's default stops on a deviance change of 1e-8, leaving the
# coefficients and the sandwich variance about 1e-6 from the exact fit).
glm_trend <- function(formula, design, family) {
  m <- svyglm(formula, design, family = family, control = glm.control(epsilon = 1e-14, maxit = 100))
  cf <- summary(m)$coefficients
  list(coef = unname(cf[, 1]), se = unname(cf[, 2]), t = unname(cf[, 3]), p = unname(cf[, 4]),
       df_residual = m$df.residual)
}

# Serialise with 17 significant digits (jsonlite stops at 15).
num17 <- function(x) {
  one <- function(v) if (is.na(v) && !is.nan(v)) "null" else if (is.nan(v)) "null" else
    if (is.infinite(v)) (if (v > 0) "\"Inf\"" else "\"-Inf\"") else sprintf("%.17g", v)
  if (length(x) == 1 && is.null(dim(x))) return(structure(one(x), class = "json"))
  if (is.matrix(x)) {
    rows <- apply(x, 1, function(r) paste0("[", paste(vapply(r, one, ""), collapse = ","), "]"))
    return(structure(paste0("[", paste(rows, collapse = ","), "]"), class = "json"))
  }
  structure(paste0("[", paste(vapply(as.vector(x), one, ""), collapse = ","), "]"), class = "json")
}
as_json17 <- function(x) {
  if (is.list(x)) return(lapply(x, as_json17))
  if (is.numeric(x)) return(num17(x))
  x
}
write_block <- function(result, name) {
  text <- toJSON(as_json17(result), auto_unbox = TRUE, json_verbatim = TRUE, pretty = TRUE, null = "null")
  writeLines(text, file.path(outdir, paste0(name, ".json")))
}

# ---- block: R's api data (California Department of Education, shipped with survey) -----------------------------

golden_api <- function() {
  data(api, envir = environment())
  export_csv(apiclus1, "apiclus1")
  export_csv(apistrat, "apistrat")
  G <- list()
  G$meta <- list(r_version = R.version.string, survey_version = as.character(packageVersion("survey")))

  dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
  dclus1wr <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1)
  dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
  dclus1u <- svydesign(id = ~dnum, fpc = ~fpc, data = apiclus1)  # ?svyciprop example: weights from the fpc

  G$degf <- list(dclus1 = degf(dclus1), dstrat = degf(dstrat),
                 dclus1_by_stype = sapply(c("E", "H", "M"), function(s) degf(subset(dclus1, stype == s)), USE.NAMES = FALSE),
                 dstrat_by_stype = sapply(c("E", "H", "M"), function(s) degf(subset(dstrat, stype == s)), USE.NAMES = FALSE))

  # Means, totals, proportions with SE and design effects.
  m <- svymean(~api00, dclus1, deff = TRUE)
  G$dclus1 <- list(
    mean_api00 = c(stat(m), list(ci_z = unname(as.vector(confint(m))),
                                 ci_t = unname(as.vector(confint(m, df = degf(dclus1)))))),
    mean_api00_deff_replace = stat(svymean(~api00, dclus1, deff = "replace")),
    total_enroll = stat(svytotal(~enroll, dclus1, deff = TRUE)),
    mean_sch_wide = c(stat(svymean(~sch.wide, dclus1, deff = TRUE)), list(categories = c("No", "Yes"))),
    ratio_api00_api99 = list(estimate = unname(coef(svyratio(~api00, ~api99, dclus1))),
                             se = unname(SE(svyratio(~api00, ~api99, dclus1)))),
    wr_mean_api00 = stat(svymean(~api00, dclus1wr, deff = TRUE)),
    wr_mean_sch_wide = stat(svymean(~sch.wide, dclus1wr))
  )
  G$dstrat <- list(
    mean_api00 = stat(svymean(~api00, dstrat, deff = TRUE)),
    total_enroll = stat(svytotal(~enroll, dstrat, deff = TRUE)),
    mean_sch_wide = c(stat(svymean(~sch.wide, dstrat, deff = TRUE)), list(categories = c("No", "Yes")))
  )

  # Multi-select stand-in: four yes/no items of apiclus1 as the options of one question.
  msf <- ~I(as.numeric(sch.wide == "Yes")) + I(as.numeric(comp.imp == "Yes")) + I(as.numeric(both == "Yes")) +
    I(as.numeric(awards == "Yes"))
  ms <- svymean(msf, dclus1, deff = TRUE)
  msby <- svyby(msf, ~stype, dclus1, svymean, deff = TRUE)
  G$multiselect <- list(options = c("sch.wide", "comp.imp", "both", "awards"), all = stat(ms), by_stype = by_stat(msby, deff = TRUE))

  # Confidence intervals for proportions: every method, two levels, two designs.
  ci_block <- function(formula, design, levels = c(0.95, 0.9)) {
    out <- list()
    for (lev in levels) {
      key <- paste0("level_", lev * 100)
      r <- list()
      for (meth in c("logit", "beta", "mean", "xlogit")) r[[meth]] <- ciprop(formula, design, meth, level = lev)
      p <- r$beta$estimate
      se <- r$beta$se
      n <- nrow(design)
      r$wilson <- list(ci = wilson_formula(p, se, degf(design), lev))
      r$kg_nchs <- list(ci = kg_formula(p, se, n, degf(design), lev, truncate = TRUE))
      out[[key]] <- r
    }
    out$n <- nrow(design)
    out$df <- degf(design)
    out
  }
  G$ciprop <- list(
    dclus1_sch_wide = ci_block(~I(sch.wide == "Yes"), dclus1),
    dstrat_sch_wide = ci_block(~I(sch.wide == "Yes"), dstrat),
    svyciprop_example_ell0 = ci_block(~I(ell == 0), dclus1u, levels = 0.95),
    dstrat_H_api00_gt800 = ci_block(~I(api00 > 800), subset(dstrat, stype == "H"), levels = 0.95)
  )
  # 0% and 100% cells: the project's rule (NCHS: n_eff = n, exact one-sided Clopper-Pearson), computed in R.
  zero <- svymean(~I(as.numeric(api00 > 900)), subset(dstrat, stype == "H"))
  nH <- nrow(subset(dstrat, stype == "H"))
  G$boundary <- list(
    p_zero = unname(coef(zero)), se_zero = unname(SE(zero)), n = nH,
    ci_zero_95 = c(0, qbeta(0.975, 1, nH)), ci_one_95 = c(qbeta(0.025, nH, 1), 1),
    ci_zero_90 = c(0, qbeta(0.95, 1, nH)),
    r_beta_is_nan = is.nan(suppressWarnings(attr(svyciprop(~I(api00 > 900), subset(dstrat, stype == "H"), method = "beta"), "ci")[1]))
  )

  # Domain estimates: R's domain df (default) and the full-design df.
  lg <- svyby(~I(sch.wide == "Yes"), ~stype, dclus1, svyciprop, vartype = c("se", "ci"), method = "logit")
  lg14 <- svyby(~I(sch.wide == "Yes"), ~stype, dclus1, svyciprop, vartype = c("se", "ci"), method = "logit", df = degf(dclus1))
  bt <- svyby(~I(sch.wide == "Yes"), ~stype, dclus1, svyciprop, vartype = c("se", "ci"), method = "beta")
  bt_design <- t(sapply(seq_len(nrow(bt)), function(i) {
    s <- as.character(bt$stype[i]); sub <- subset(dclus1, stype == s)
    kg_formula(coef(bt)[i], SE(bt)[i], nrow(sub), degf(dclus1))
  }))
  G$domain <- list(
    groups = c("E", "H", "M"),
    n = as.vector(table(apiclus1$stype)),
    logit_domain_df = list(estimate = unname(coef(lg)), se = unname(SE(lg)), ci = by_ci(lg)),
    logit_design_df = list(ci = by_ci(lg14)),
    beta_domain_df = list(ci = by_ci(bt)),
    beta_design_df = list(ci = unname(bt_design)),
    mean_sch_wide = by_stat(svyby(~sch.wide, ~stype, dclus1, svymean, deff = TRUE), deff = TRUE),
    mean_api00 = by_stat(svyby(~api00, ~stype, dclus1, svymean, deff = TRUE), deff = TRUE),
    total_enroll = by_stat(svyby(~enroll, ~stype, dclus1, svytotal, deff = TRUE), deff = TRUE),
    dstrat_mean_api00_by_awards = by_stat(svyby(~api00, ~awards, dstrat, svymean, deff = TRUE), deff = TRUE)
  )

  # Tests of association.
  dclus1m <- update(dclus1, mealcat = (meals > 33) + (meals > 66), ellcat = (ell > 10) + (ell > 30))
  rclus1 <- as.svrepdesign(dclus1, type = "JK1")
  G$svychisq <- list(
    dclus1_sch_wide_stype = chisq_all(~sch.wide + stype, dclus1),
    dstrat_comp_imp_stype = chisq_all(~comp.imp + stype, dstrat),
    dclus1_stype_mealcat = chisq_all(~stype + mealcat, dclus1m),
    dclus1_domain_comp_imp_yes_awards_stype = chisq_all(~awards + stype, subset(dclus1, comp.imp == "Yes")),
    # Every seventh school's awards missing: R's X^2 and Delta are scaled by all rows of the design (nrow of
    # its model frame, missing values included), not by the rows with both answers.
    dclus1_some_awards_missing_stype = chisq_all(~awards_some + stype, update(dclus1,
      awards_some = ifelse(seq_len(nrow(apiclus1)) %% 7 == 0, NA, as.character(awards)))),
    jk1_sch_wide_stype_F = chisq_all(~sch.wide + stype, rclus1)["F"],
    pearson_X2 = unname(suppressWarnings(chisq.test(svytable(~sch.wide + stype, dclus1, Ntotal = nrow(apiclus1)),
                                                    correct = FALSE))$statistic)
  )
  tab <- svytable(~sch.wide + stype, dclus1)
  G$svytable <- list(rows = rownames(tab), cols = colnames(tab), weighted = unname(unclass(tab)[, ]),
                     pct = unname(unclass(svytable(~sch.wide + stype, dclus1, Ntotal = 100))[, ]),
                     row_pct = unname(100 * unclass(prop.table(tab, 1))[, ]),
                     col_pct = unname(100 * unclass(prop.table(tab, 2))[, ]),
                     unweighted = unname(unclass(table(apiclus1$sch.wide, apiclus1$stype))[, ]))

  # Unweighted sensitivity tests and multiplicity.
  ut <- table(apiclus1$sch.wide, apiclus1$stype)
  pearson_ut <- suppressWarnings(chisq.test(ut, correct = FALSE))
  G$unweighted <- list(
    pearson = list(table = unname(unclass(ut)[, ]), statistic = unname(pearson_ut$statistic), p = pearson_ut$p.value),
    fisher_2x3 = list(table = unname(unclass(ut)[, ]), p = fisher.test(ut)$p.value),
    fisher_2x2 = list(table = unname(unclass(table(apiclus1$sch.wide, apiclus1$comp.imp))[, ]),
                      p = fisher.test(table(apiclus1$sch.wide, apiclus1$comp.imp))$p.value),
    fisher_2x4 = list(table = matrix(c(13, 12, 11, 25, 14, 11, 4, 9), 2), p = fisher.test(matrix(c(13, 12, 11, 25, 14, 11, 4, 9), 2))$p.value)
  )
  pv <- c(0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.5, NA)
  G$p_adjust <- list(p = pv, holm = p.adjust(pv, "holm"), bh = p.adjust(pv, "BH"), by = p.adjust(pv, "BY"))

  # Trend: svyglm slope of a yes/no outcome over a score.
  G$trend <- list(
    dclus1_sch_wide_on_ell = glm_trend(I(sch.wide == "Yes") ~ ell, dclus1, quasibinomial()),
    dclus1_awards_on_ellcat = glm_trend(I(awards == "Yes") ~ ellcat, dclus1m, quasibinomial()),
    dclus1_awards_on_ellcat_gaussian = glm_trend(I(as.numeric(awards == "Yes")) ~ ellcat, dclus1m, gaussian()),
    dstrat_awards_on_meals_domain_E = glm_trend(I(awards == "Yes") ~ meals, subset(dstrat, stype == "E"), quasibinomial()),
    # The outcome missing in the two lowest-numbered districts: svyglm drops those rows, and with them two PSUs'
    # degrees of freedom.
    dclus1_awards_missing_in_two_districts_on_ell = glm_trend(awards_na ~ ell, update(dclus1,
      awards_na = ifelse(dnum %in% sort(unique(apiclus1$dnum))[1:2], NA, awards == "Yes")), quasibinomial())
  )

  # Lonely PSUs: counties as strata, school districts as PSUs (8 of 11 counties have a single district).
  lonely <- list()
  for (policy in c("fail", "remove", "certainty", "adjust", "average")) {
    options(survey.lonely.psu = policy)
    dl <- svydesign(id = ~dnum, strata = ~cname, weights = ~pw, data = apiclus1)
    res <- tryCatch({
      list(fails = FALSE, degf = degf(dl), mean_api00 = stat(svymean(~api00, dl)),
           mean_sch_wide = stat(svymean(~sch.wide, dl)),
           by_stype_api00 = by_stat(svyby(~api00, ~stype, dl, svymean)))
    }, error = function(e) list(fails = TRUE, message = conditionMessage(e)))
    lonely[[policy]] <- res
  }
  options(survey.lonely.psu = "fail")
  G$lonely <- lonely

  # Weighting.
  pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
  pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
  tight <- list(maxit = 1000, epsilon = 1e-10)
  rk <- rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide), control = tight)
  ps <- postStratify(dclus1, ~stype, pop.types)
  pt <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069)
  cl <- calibrate(dclus1, ~stype + api99, pt)
  cb <- calibrate(dclus1, ~stype + api99, pt, bounds = c(0.7, 1.7))
  cr <- calibrate(dclus1, ~stype + api99, pt, calfun = "raking")
  cg <- calibrate(dclus1, ~stype + api99, pt, calfun = "logit", bounds = c(0.7, 1.7))
  tr <- trimWeights(cl, lower = 20, upper = 45)
  ts <- trimWeights(cl, lower = 20, upper = 45, strict = TRUE)
  rkt <- trimWeights(rk, upper = 60)  # keeps the raking record with new weights
  after <- function(d) list(weights = weights_summary(d), mean_api00 = stat(svymean(~api00, d, deff = TRUE)),
                            total_enroll = stat(svytotal(~enroll, d)), mean_awards = stat(svymean(~awards, d)),
                            by_stype_awards = by_stat(svyby(~awards, ~stype, d, svymean)))
  popsw <- as.data.frame(xtabs(~sch.wide, apipop))
  popaw <- as.data.frame(xtabs(~awards, apipop))
  rs <- rake(dstrat, list(~sch.wide, ~awards), list(popsw, popaw), control = tight)
  crs <- calibrate(dstrat, ~sch.wide + awards,
                   c(`(Intercept)` = sum(popsw$Freq), sch.wideYes = popsw$Freq[2], awardsYes = popaw$Freq[2]),
                   calfun = "raking", epsilon = 1e-12, maxit = 100)
  G$weighting <- list(
    margins = list(stype = list(levels = pop.types$stype, totals = pop.types$Freq),
                   sch_wide = list(levels = pop.schwide$sch.wide, totals = pop.schwide$Freq),
                   apipop_sch_wide = list(levels = as.character(popsw$sch.wide), totals = popsw$Freq),
                   apipop_awards = list(levels = as.character(popaw$awards), totals = popaw$Freq),
                   calibration_totals = as.list(pt)),
    rake = c(after(rk), list(chisq_awards_stype = chisq_all(~awards + stype, rk),
                             # A subset of a calibrated design keeps every row (weight 0 outside), so R's X^2
                             # is scaled by the whole sample's n.
                             chisq_domain_awards_stype = chisq_all(~awards + stype, subset(rk, comp.imp == "Yes")),
                             # survey 4.1-1's svychisq takes the denominator df from every cluster of the
                             # subset; later versions (and the pipeline) from degf(subset): the PSUs in it.
                             chisq_domain_degf = degf(subset(rk, comp.imp == "Yes")),
                             chisq_domain_F_p_on_degf = with(
                               chisq_all(~awards + stype, subset(rk, comp.imp == "Yes"))$F,
                               pf(statistic, parameter[1], parameter[1] * degf(subset(rk, comp.imp == "Yes")),
                                  lower.tail = FALSE)),
                             ciprop_awards_logit = ciprop(~I(awards == "Yes"), rk, "logit"),
                             ciprop_awards_beta = ciprop(~I(awards == "Yes"), rk, "beta"),
                             trend_awards_on_ell = glm_trend(I(awards == "Yes") ~ ell, rk, quasibinomial()))),
    rake_trimmed = c(after(rkt), list(chisq_awards_stype = chisq_all(~awards + stype, rkt))),
    poststratify = after(ps),
    calibrate_linear = after(cl),
    calibrate_linear_bounded = after(cb),
    calibrate_raking = after(cr),
    calibrate_logit_bounded = after(cg),
    trim = after(tr),
    trim_strict = after(ts),
    dstrat_rake = list(weights = weights_summary(rs), mean_api00 = stat(svymean(~api00, rs))),
    dstrat_calibrate_raking = list(weights = weights_summary(crs), mean_api00 = stat(svymean(~api00, crs)))
  )

  # JK1 replicates by cluster, then re-raked / post-stratified replicate by replicate.
  rrk <- rake(rclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide), control = tight)
  rps <- postStratify(rclus1, ~stype, pop.types)
  G$jk1 <- list(
    scale = rclus1$scale, degf = degf(rclus1),
    mean_api00 = stat(svymean(~api00, rclus1)),
    total_enroll = stat(svytotal(~enroll, rclus1)),
    ciprop_sch_wide_logit = ciprop(~I(sch.wide == "Yes"), rclus1, "logit"),
    ciprop_sch_wide_beta = ciprop(~I(sch.wide == "Yes"), rclus1, "beta"),
    by_stype_sch_wide_beta = list(ci = by_ci(svyby(~I(sch.wide == "Yes"), ~stype, rclus1, svyciprop,
                                                   vartype = c("se", "ci"), method = "beta"))),
    rake_mean_api00 = stat(svymean(~api00, rrk)),
    rake_mean_awards = stat(svymean(~awards, rrk)),
    rake_weights = unname(weights(rrk, "analysis")[, 1:3]),
    poststratify_mean_api00 = stat(svymean(~api00, rps)),
    poststratify_total_enroll = stat(svytotal(~enroll, rps)),
    trend_awards_on_ell = glm_trend(I(awards == "Yes") ~ ell, rclus1, quasibinomial())
  )
  G
}

# ---- block: the project's bundled survey waves (synthetic stand-ins) --------------------------------------------
#
# The rows are the waves' analysed respondents as the pipeline cleans them (data/waves.csv, written by
# export_waves.py). Organisations are the clusters, sampled with replacement; wave 2 is raked to wave 1's gender
# and race composition (a missing race is its own category) and trimmed as config/weighting/wave2.yaml says.

bundled_waves <- function() {
  waves <- read.csv(file.path(script_dir, "data", "waves.csv"), colClasses = "character", na.strings = "NA")
  waves$one <- 1
  waves$buyers_per_day <- as.numeric(waves$buyers_per_day)
  w1 <- waves[waves$wave == "wave1", ]
  w2 <- waves[waves$wave == "wave2", ]
  missing_as <- function(x) ifelse(is.na(x), "missing", x)
  w1$gender_m <- missing_as(w1$gender); w1$race_m <- missing_as(w1$race)
  d1 <- svydesign(ids = ~org, weights = ~one, data = w1)
  d2 <- svydesign(ids = ~org, weights = ~one, data = w2)
  d2 <- update(d2, gender_m = missing_as(gender), race_m = missing_as(race))
  share <- function(x) { t <- table(x); t / sum(t) }
  target <- function(x, name) {
    s <- share(x)
    frame <- data.frame(names(s), as.vector(s) * nrow(w2))
    names(frame) <- c(name, "Freq")
    frame
  }
  raked <- rake(d2, list(~gender_m, ~race_m), list(target(w1$gender_m, "gender_m"), target(w1$race_m, "race_m")),
                control = list(maxit = 1000, epsilon = 1e-10))
  mean_w <- mean(weights(raked))
  trimmed <- trimWeights(raked, lower = 0.2 * mean_w, upper = 5 * mean_w, strict = FALSE)
  list(w1 = w1, w2 = w2, d1 = d1, d2 = d2, trimmed = trimmed)
}

golden_waves <- function() {
  b <- bundled_waves()
  d2 <- b$d2; trimmed <- b$trimmed
  cohort_ci <- function(design) {
    out <- list()
    for (cohort in c("before_2004", "from_2004")) {
      sub <- subset(design, !is.na(entry_cohort) & entry_cohort == cohort & !is.na(advertised_online))
      r <- svyciprop(~I(advertised_online == "yes"), sub, method = "beta")
      # svyciprop's Korn-Graubard n is nrow(design): the domain's rows for a plain design, but every row for a
      # calibrated one (subset keeps them, with zero weight). The pipeline uses the domain's respondents in
      # both cases; ci_domain_n is Korn-Graubard with that n, ci_nrow with nrow(sub) as svyciprop used.
      n_domain <- sum(weights(sub) > 0)
      out[[cohort]] <- list(estimate = as.vector(coef(r)), se = as.vector(SE(r)), ci = as.vector(attr(r, "ci")),
                            df = degf(sub), n_domain = n_domain, n_rows = nrow(sub),
                            ci_domain_n = kg_formula(coef(r), SE(r), n_domain, degf(sub)),
                            ci_nrow = kg_formula(coef(r), SE(r), nrow(sub), degf(sub)))
    }
    out
  }
  chisq <- function(design) {
    sub <- subset(design, !is.na(entry_cohort) & !is.na(advertised_online))
    t <- svychisq(~advertised_online + entry_cohort, sub, statistic = "F")
    list(statistic = unname(t$statistic), ndf = unname(t$parameter[1]), ddf = unname(t$parameter[2]),
         p = unname(t$p.value))
  }
  d1 <- b$d1
  d1 <- update(d1, score = match(recruitment_period, c("under_5_years", "5_to_9_years", "10_plus_years")),
               phone = as.numeric(had_cell_phone == "yes"))
  sub1 <- subset(d1, !is.na(score) & !is.na(phone))
  trend <- glm_trend(phone ~ score, sub1, quasibinomial())
  list(
    wave2_weights = unname(weights(trimmed)),
    wave2_unweighted_online_by_cohort = cohort_ci(d2),
    wave2_weighted_online_by_cohort = cohort_ci(trimmed),
    wave2_unweighted_chisq = chisq(d2),
    wave2_weighted_chisq = chisq(trimmed),
    wave1_phone_trend = list(estimate = trend$coef[2], se = trend$se[2], t = trend$t[2], p = trend$p[2])
  )
}

# ---- block: models, t-tests and quantiles (svyglm, regTermTest, svyttest, svyquantile) --------------------------
#
# On R's api data and on the bundled waves. svyglm is run to the fixed point (glm.control(epsilon = 1e-14)), as
# the pipeline fits it; confint() is confint.svyglm's default (Wald, t on df.residual). svyquantile is survey >=
# 4.1's default: qrule = "math", interval.type = "mean" (Woodruff), unless a case says otherwise.

glm_full <- function(formula, design, family = gaussian(), terms = list(), level = 0.9) {
  # Refit from the converged coefficients: glm's sandwich uses the working weights of its last iteration, taken
  # before the final update; restarting at the fixed point makes them the fixed point's (within about 1e-13).
  # (svyglm hands extra arguments to glm unevaluated: bquote puts the values in.)
  m0 <- svyglm(formula, design, family = family, control = glm.control(epsilon = 1e-14, maxit = 100))
  m <- eval(bquote(svyglm(formula, design, family = family, deff = TRUE,
                          control = glm.control(epsilon = 1e-14, maxit = 100), start = .(unname(coef(m0))))))
  cf <- summary(m)$coefficients
  tests <- lapply(terms, function(tt) {
    r <- regTermTest(m, tt)
    list(terms = r$test.terms, statistic = as.numeric(r$Ftest), ndf = r$df, ddf = r$ddf, p = as.numeric(r$p))
  })
  list(names = rownames(cf), coef = unname(cf[, 1]), se = unname(cf[, 2]), t = unname(cf[, 3]),
       p = unname(cf[, 4]), df_residual = m$df.residual, deff = unname(diag(attr(m, "deff"))),
       ci_95 = unname(confint(m)), ci_level = unname(confint(m, level = level)), level = level,
       n = sum(m$prior.weights > 0), tests = tests)
}

ttest <- function(formula, design) {
  t <- svyttest(formula, design)
  list(estimate = unname(t$estimate), statistic = unname(t$statistic), df = unname(t$parameter),
       p = unname(t$p.value), ci = unname(as.vector(t$conf.int)),
       se = unname(t$estimate / t$statistic))
}

quant <- function(formula, design, probs = c(0.25, 0.5, 0.75), ...) {
  q <- svyquantile(formula, design, probs, ...)
  lapply(q, function(m) list(quantile = unname(m[, 1]), ci = unname(m[, 2:3]), se = unname(m[, 4])))
}

golden_models <- function() {
  data(api, envir = environment())
  dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
  dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
  dclus1 <- update(dclus1, ell_na = ifelse(seq_len(nrow(apiclus1)) %% 9 == 0, NA, ell),
                   enroll_na = ifelse(seq_len(nrow(apiclus1)) %% 11 == 0, NA, enroll))
  pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
  pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
  rk <- rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide),
             control = list(maxit = 1000, epsilon = 1e-10))
  rclus1 <- as.svrepdesign(dclus1, type = "JK1")
  q <- quasibinomial()
  api <- list(
    glm = list(
      dclus1_api00_ell_meals_stype = glm_full(api00 ~ ell + meals + stype, dclus1,
                                              terms = list(~stype, ~ell + meals)),
      dstrat_schwide_ell_stype_logit = glm_full(I(sch.wide == "Yes") ~ ell + stype, dstrat, q, terms = list(~stype)),
      dclus1_awards_ell_mobility_logit = glm_full(I(awards == "Yes") ~ ell + mobility, dclus1, q,
                                                  terms = list(~mobility)),
      dclus1_domain_comp_imp_yes_api00_ell_stype = glm_full(api00 ~ ell + stype, subset(dclus1, comp.imp == "Yes"),
                                                            terms = list(~stype)),
      dclus1_missing_ell_api00_ell_na_stype = glm_full(api00 ~ ell_na + stype, dclus1, terms = list(~stype)),
      rake_api00_ell_stype = glm_full(api00 ~ ell + stype, rk, terms = list(~stype)),
      rake_awards_ell_logit = glm_full(I(awards == "Yes") ~ ell, rk, q),
      # A subset of a calibrated design keeps every row, with weight zero outside the domain.
      rake_domain_comp_imp_yes_api00_ell_stype = glm_full(api00 ~ ell + stype, subset(rk, comp.imp == "Yes"),
                                                          terms = list(~stype)),
      jk1_api00_ell_stype = glm_full(api00 ~ ell + stype, rclus1, terms = list(~stype))
    ),
    ttest = list(
      dclus1_api00_by_sch_wide = ttest(api00 ~ sch.wide, dclus1),
      dstrat_enroll_by_comp_imp = ttest(enroll ~ comp.imp, dstrat),
      dclus1_domain_E_api00_by_awards = ttest(api00 ~ awards, subset(dclus1, stype == "E")),
      rake_api00_by_awards = ttest(api00 ~ awards, rk)
    ),
    quantile = list(
      dclus1_api00_enroll = quant(~api00 + enroll, dclus1),
      dstrat_api00_enroll = quant(~api00 + enroll, dstrat),
      dclus1_api00_school_alpha10 = quant(~api00, dclus1, c(0.1, 0.5, 0.9), qrule = "school", alpha = 0.1),
      dclus1_domain_H_api00 = quant(~api00, subset(dclus1, stype == "H")),
      dclus1_enroll_na = quant(~enroll_na, dclus1, na.rm = TRUE),
      rake_api00 = quant(~api00, rk),
      rake_domain_comp_imp_yes_api00 = quant(~api00, subset(rk, comp.imp == "Yes"))
    )
  )

  b <- bundled_waves()
  d1 <- b$d1; d2 <- b$d2; weighted <- b$trimmed
  per_design <- function(design) list(
    buyers_on_online_cohort = glm_full(buyers_per_day ~ advertised_online + entry_cohort, design,
                                       terms = list(~advertised_online)),
    online_on_cohort_region_logit = glm_full(I(advertised_online == "yes") ~ entry_cohort + region, design, q,
                                             terms = list(~entry_cohort, ~region)),
    ttest_buyers_by_online = ttest(buyers_per_day ~ advertised_online, design),
    quantile_buyers = quant(~buyers_per_day, design, na.rm = TRUE)
  )
  waves_out <- list(
    wave1 = list(buyers_on_online_region = glm_full(buyers_per_day ~ advertised_online + region, d1,
                                                    terms = list(~advertised_online, ~region)),
                 quantile_buyers = quant(~buyers_per_day, d1, na.rm = TRUE)),
    wave2_unweighted = per_design(d2),
    wave2_weighted = per_design(weighted)
  )
  list(api = api, waves = waves_out)
}

# ---- blocks ---------------------------------------------------------------------------------------------------

blocks <- list(api = golden_api, waves = golden_waves, models = golden_models)
for (name in names(blocks)) {
  write_block(blocks[[name]](), name)
  message("wrote ", file.path(outdir, paste0(name, ".json")))
}
