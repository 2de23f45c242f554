#!/usr/bin/env Rscript
# Times R survey on the kernels of benchmarks/bench_core.py, on the same data (a CSV it wrote).
#
#   Rscript benchmarks/bench_core.R DATA.csv REPEATS
#
# Prints CSV lines "kernel,seconds" (medians over REPEATS) and "check,<name>,<value>" with numbers the driver
# compares with its own, so both sides are known to compute the same thing.
suppressPackageStartupMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
path <- args[1]
repeats <- as.integer(args[2])
df <- read.csv(path, stringsAsFactors = TRUE)

time_it <- function(name, expr) {
  times <- numeric(repeats)
  value <- NULL
  gc(verbose = FALSE)
  for (i in seq_len(repeats)) {
    t0 <- Sys.time()
    value <- eval(expr, envir = globalenv())
    times[i] <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
  }
  cat(sprintf("%s,%.6f\n", name, median(times)))
  value
}

design <- time_it("design", quote(svydesign(id = ~cluster, strata = ~stratum, weights = ~w, data = df, nest = TRUE)))
m <- time_it("prop_se", quote(svymean(~online, design)))
cp <- time_it("ciprop_kg", quote(svyciprop(~online, design, method = "beta")))
by <- time_it("svyby_logit", quote(svyby(~online, ~cohort, design, svyciprop, method = "logit", vartype = "ci")))
tb <- time_it("svytable", quote(svytable(~method + cohort, design)))
ch <- time_it("svychisq_F", quote(svychisq(~method + cohort, design)))
total <- sum(df$w)
pop_cohort <- data.frame(cohort = c("c1", "c2", "c3", "c4"), Freq = total * c(0.3, 0.3, 0.2, 0.2))
pop_method <- data.frame(method = c("a", "b", "c", "d", "e", "f"), Freq = total * rep(1 / 6, 6))
raked <- time_it("rake", quote(rake(design, list(~cohort, ~method), list(pop_cohort, pop_method),
                                     control = list(maxit = 100, epsilon = 1e-8))))
mr <- time_it("svymean_raked", quote(svymean(~online, raked)))
cat(sprintf("check,prop,%.17g\ncheck,prop_se,%.17g\n", coef(m), SE(m)))
cat(sprintf("check,kg_low,%.17g\ncheck,kg_high,%.17g\n", attr(cp, "ci")[1], attr(cp, "ci")[2]))
cat(sprintf("check,chisq_F,%.17g\n", ch$statistic))
cat(sprintf("check,raked_se,%.17g\n", SE(mr)))
