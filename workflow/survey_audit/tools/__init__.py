"""Tools beside the workflow: the synthetic stand-in waves (:mod:`.synthetic`), releases with verification and
diffs (:mod:`.releases`), and ad-hoc design-based tabulation from the shell (:mod:`.tab`).
"""
