package eval

// Baseline names in Report.Baselines.
const (
	BaselineBaseRate    = "base_rate"
	BaselineHealthScore = "health_score"
	BaselineChampion    = "champion"
)
