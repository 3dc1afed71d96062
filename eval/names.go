package eval

// Finding severities, from best to worst.
const (
	SeverityGood     = "good"
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Baseline names in Report.Baselines.
const (
	BaselineBaseRate    = "base_rate"
	BaselineHealthScore = "health_score"
	BaselineChampion    = "champion"
)
