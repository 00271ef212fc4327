# Step 1 of 2: export the Beat the Blues data (BtheB) exactly as shipped by the R package
# HSAUR3 to a plain CSV. Needs R and HSAUR3, e.g. on Debian:
#   apt-get install r-base-core r-cran-hsaur3
#   Rscript trials/btheb/convert.R
# Step 2 (no R needed): python trials/btheb/convert.py  (raw CSV -> ADaM CSVs in data/)
data("BtheB", package = "HSAUR3")
out <- file.path("trials", "btheb", "raw", "btheb.csv")
write.csv(BtheB, out, row.names = FALSE, na = "")
cat("HSAUR3", as.character(packageVersion("HSAUR3")), "R", R.version$major, R.version$minor,
    "->", out, nrow(BtheB), "rows\n")
