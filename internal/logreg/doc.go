// Package logreg fits L2-regularised logistic regression in pure Go, the
// interpretable baseline next to gradient boosting.
//
// Fit standardises each feature (mean and standard deviation over the
// non-missing values, weighted by the row weights), imputes missing values
// (NaN) with the feature's mean, that is 0 after standardising, and minimises
//
//	Σᵢ vᵢ·logloss(yᵢ, b + zᵢ·β) + L2/2·‖β‖²
//
// with gonum's L-BFGS and an analytic gradient, where zᵢ is row i standardised
// and vᵢ its weight times the class weight. The intercept b is not penalised.
// This is scikit-learn's LogisticRegression(C=1/L2, penalty="l2") fitted on the
// same standardised data; bench/logreg_sklearn.py checks the agreement and
// testdata/sklearn_golden.json holds its coefficients.
//
// A fitted Model is plain data with exported fields, meant to be serialised as
// JSON by the caller, and is safe for concurrent use once fitted. Fit is
// deterministic: the same inputs give bit-identical models. It starts no
// goroutines of its own beyond gonum's optimiser, which runs one evaluation
// at a time.
package logreg
