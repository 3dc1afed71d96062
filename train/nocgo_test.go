package train

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestScoringBuildsWithoutCgo checks D13's promise: predict (which loads
// and scores models through train) builds with CGO_ENABLED=0, as Beam's
// worker binaries are built, and does not link internal/xgb's C API.
func TestScoringBuildsWithoutCgo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds predict without cgo")
	}
	env := append(os.Environ(), "CGO_ENABLED=0")
	build := exec.Command("go", "build", "-o", filepath.Join(t.TempDir(), "predict.a"), "../predict")
	build.Env = env
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build ./predict: %v\n%s", err, out)
	}
	list := exec.Command("go", "list", "-deps", "../predict")
	list.Env = env
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list -deps ./predict: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "github.com/churnlab/churn/internal/xgb" || pkg == "runtime/cgo" {
			t.Errorf("without cgo, predict still depends on %s", pkg)
		}
	}
}
