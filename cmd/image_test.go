package cmd

import (
	"bufio"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The checks of the container image (../Dockerfile) that need no container
// engine: the runtime stage installs the Debian package of every shared
// library churn links, runs as a numeric non-root user with churn as the
// entrypoint, and is built with a Go no older than go.mod asks for.

// dockerfileStage is one FROM … stage of a Dockerfile: its base image and
// its instructions in order, with line continuations joined.
type dockerfileStage struct {
	From   string // the base image reference
	Name   string // the AS name, "" when none
	Instrs []dockerfileInstr
}

type dockerfileInstr struct {
	Cmd  string // upper case: RUN, USER, ENTRYPOINT, …
	Args string // the rest of the instruction, continuations joined
}

// parseDockerfile splits a Dockerfile into its stages. It knows comments,
// blank lines and backslash continuations, which is all our Dockerfile
// uses; heredocs and parser directives are not supported.
func parseDockerfile(text string) []dockerfileStage {
	var stages []dockerfileStage
	var logical []string
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if rest, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(rest + " ")
			continue
		}
		cur.WriteString(line)
		logical = append(logical, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		logical = append(logical, cur.String())
	}
	for _, l := range logical {
		cmd, args, _ := strings.Cut(l, " ")
		cmd = strings.ToUpper(cmd)
		args = strings.TrimSpace(args)
		if cmd == "FROM" {
			f := strings.Fields(args)
			s := dockerfileStage{}
			for i := 0; i < len(f); i++ {
				switch {
				case strings.HasPrefix(f[i], "--"):
				case strings.EqualFold(f[i], "AS") && i+1 < len(f):
					s.Name = f[i+1]
					i++
				case s.From == "":
					s.From = f[i]
				}
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) > 0 {
			st := &stages[len(stages)-1]
			st.Instrs = append(st.Instrs, dockerfileInstr{Cmd: cmd, Args: args})
		}
	}
	return stages
}

// aptInstalled returns the packages named by the apt-get install commands
// in a shell command line: the words after "install" that are not options,
// up to the end of that command (&&, ||, ;, |).
func aptInstalled(shell string) []string {
	var pkgs []string
	words := strings.Fields(shell)
	for i := 0; i < len(words); i++ {
		if !(words[i] == "apt-get" || words[i] == "apt") {
			continue
		}
		j := i + 1
		for j < len(words) && strings.HasPrefix(words[j], "-") {
			j++
		}
		if j >= len(words) || words[j] != "install" {
			continue
		}
		for j++; j < len(words); j++ {
			w := words[j]
			if w == "&&" || w == "||" || w == ";" || w == "|" {
				break
			}
			if strings.HasPrefix(w, "-") {
				continue
			}
			last := strings.HasSuffix(w, ";")
			w = strings.TrimSuffix(w, ";")
			name, _, _ := strings.Cut(w, "=") // pkg=version
			pkgs = append(pkgs, name)
			if last {
				break
			}
		}
		i = j
	}
	return pkgs
}

func TestImageAptInstalled(t *testing.T) {
	tests := []struct {
		name  string
		shell string
		want  []string
	}{
		{"one command", "apt-get install -y --no-install-recommends a b", []string{"a", "b"}},
		{"chained", "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y a b=1.2 && rm -rf /var/lib/apt/lists/*", []string{"a", "b"}},
		{"semicolon", "apt-get -q install a; echo b", []string{"a"}},
		{"two installs", "apt-get install a && apt install -y b", []string{"a", "b"}},
		{"no install", "apt-get update && apt-get purge a", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := aptInstalled(tt.shell); !slices.Equal(got, tt.want) {
				t.Errorf("aptInstalled(%q) = %q, want %q", tt.shell, got, tt.want)
			}
		})
	}
}

func readDockerfile(t *testing.T) (build, runtime dockerfileStage) {
	t.Helper()
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(string(b))
	if len(stages) < 2 {
		t.Fatalf("../Dockerfile has %d stages, want a build stage and a runtime stage", len(stages))
	}
	runtime = stages[len(stages)-1]
	for _, s := range stages {
		for _, in := range s.Instrs {
			if in.Cmd == "RUN" && strings.Contains(in.Args, "go build") && strings.Contains(in.Args, "./cmd/churn") {
				return s, runtime
			}
		}
	}
	t.Fatal("../Dockerfile: no stage runs go build … ./cmd/churn")
	return
}

// TestImageDockerfile checks the runtime stage's user and entrypoint and
// the build stage's Go version.
func TestImageDockerfile(t *testing.T) {
	build, runtime := readDockerfile(t)

	var user string
	var entrypoint []string
	for _, in := range runtime.Instrs {
		switch in.Cmd {
		case "USER":
			user = in.Args
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(in.Args), &entrypoint); err != nil {
				t.Errorf("ENTRYPOINT %s: want the exec form [\"churn\"]: %v", in.Args, err)
			}
		}
	}
	// Kubernetes' runAsNonRoot can verify only a numeric user.
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("runtime stage USER %q: want a numeric non-root uid", user)
	}
	if !slices.Equal(entrypoint, []string{"churn"}) {
		t.Errorf("runtime stage ENTRYPOINT %q, want [\"churn\"]", entrypoint)
	}

	// The build image's tag starts with the Go version: golang:1.26.8-bookworm.
	_, tag, _ := strings.Cut(build.From[strings.LastIndex(build.From, "/")+1:], ":")
	goVersion, _, _ := strings.Cut(tag, "-")
	want := goModVersion(t)
	if compareVersions(goVersion, want) < 0 {
		t.Errorf("build stage FROM %s: Go %q is older than go.mod's go %s (pin the full version, e.g. golang:%s-bookworm)", build.From, goVersion, want, want)
	}
}

func goModVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("../go.mod has no go line")
	return ""
}

// compareVersions compares dotted versions numerically; a missing part
// counts as 0, so a floating tag like "1.26" is older than "1.26.8", and
// a part that is not a number makes the version older than any.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		var x, y int
		var err error
		if i < len(pa) {
			if x, err = strconv.Atoi(pa[i]); err != nil {
				return -1
			}
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// TestImagePackages checks that the runtime stage installs the Debian
// package of every shared library churn needs. It runs ldd on this test
// binary, which links exactly the cgo libraries churn does (cmd/churn is
// only os.Exit(cmd.Main())), and asks dpkg which package owns each.
func TestImagePackages(t *testing.T) {
	for _, tool := range []string{"ldd", "dpkg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not available (not a Debian or Ubuntu host): cannot map churn's shared libraries to packages", tool)
		}
	}
	_, runtime := readDockerfile(t)
	installed := map[string]bool{}
	for _, in := range runtime.Instrs {
		if in.Cmd == "RUN" {
			for _, p := range aptInstalled(in.Args) {
				installed[p] = true
			}
		}
	}

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ldd", exe).Output()
	if err != nil {
		t.Skipf("ldd %s: %v (a static binary needs no packages)", exe, err)
	}
	libs := lddPaths(string(out))
	if len(libs) == 0 {
		t.Fatalf("ldd %s lists no libraries:\n%s", exe, out)
	}
	for _, lib := range libs {
		pkg, ok := dpkgOwner(lib)
		if !ok {
			t.Skipf("%s belongs to no Debian package (XGBoost built from source?): the image installs Debian's", lib)
		}
		// libc6 (the C library and the dynamic loader) is in every Debian image.
		if pkg == "libc6" {
			continue
		}
		if !installed[pkg] {
			t.Errorf("churn links %s from package %s, which the Dockerfile's runtime stage does not install (it installs %q)", lib, pkg, slices.Sorted(maps.Keys(installed)))
		}
	}
}

// lddPaths returns the library paths in ldd's output ("name => path (addr)"
// or "path (addr)"); the vDSO has none.
func lddPaths(out string) []string {
	var paths []string
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			paths = append(paths, f[2])
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			paths = append(paths, f[0])
		}
	}
	return paths
}

// dpkgOwner returns the package that installed path. It tries the path as
// given, with symlinks resolved, and its other spelling on merged-/usr
// systems (/lib/… and /usr/lib/…), because dpkg knows only the one it
// unpacked.
func dpkgOwner(path string) (string, bool) {
	candidates := []string{path}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		candidates = append(candidates, real)
	}
	for _, p := range slices.Clone(candidates) {
		if rest, ok := strings.CutPrefix(p, "/usr/"); ok {
			candidates = append(candidates, "/"+rest)
		} else {
			candidates = append(candidates, "/usr"+p)
		}
	}
	for _, p := range candidates {
		out, err := exec.Command("dpkg", "-S", p).Output()
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(out)) {
			if strings.HasPrefix(line, "diversion ") {
				continue
			}
			pkgs, _, ok := strings.Cut(line, ": ")
			if !ok {
				continue
			}
			pkg, _, _ := strings.Cut(pkgs, ", ")
			pkg, _, _ = strings.Cut(pkg, ":") // libc6:amd64
			return pkg, true
		}
	}
	return "", false
}
