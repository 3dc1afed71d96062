// Package pgtest starts a throwaway PostgreSQL server for tests: Debian's
// postgresql package (initdb and postgres from /usr/lib/postgresql/*/bin),
// a cluster in a temporary folder, owned by an unprivileged user (the
// server refuses to run as root: as root the cluster belongs to the
// postgres user the package creates, else nobody), listening on a free
// port of 127.0.0.1 and on a Unix socket in that folder, with password
// (SCRAM) authentication, fsync off. `make postgres` installs the package;
// `make test` sets CHURN_REQUIRE_POSTGRES=1 so that a missing server fails
// the tests instead of skipping them.
//
// # Use
//
// A test package starts one server for all its tests in TestMain and
// gives each test a database of its own:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		db := pgtest.New(t)      // skips (or fails under make test) without PostgreSQL
//		// db.URL has no password: set db.Env() (PGPASSWORD) for the code under test
//	}
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvRequire names the environment variable that, set to 1, makes a
// missing PostgreSQL a test failure rather than a skip (make test sets it).
const EnvRequire = "CHURN_REQUIRE_POSTGRES"

// User and Password are the superuser of every test cluster.
const (
	User     = "churn"
	Password = "test-password-Ω"
)

// Server is a running test cluster.
type Server struct {
	Dir  string // the cluster's folder: data/, the socket, the log
	Port int
	cmd  *exec.Cmd
	done chan error
}

var (
	mu      sync.Mutex
	shared  *Server
	started error
	dbs     atomic.Int64
)

// Main runs the tests of a package and then stops the server that New
// started, if any. Use it as os.Exit(pgtest.Main(m)) in TestMain.
func Main(m interface{ Run() int }) int {
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if shared != nil {
		shared.Stop()
		shared = nil
	}
	return code
}

// DB is a database of its own for one test on the shared server.
type DB struct {
	Server *Server
	Name   string
	// URL connects to the database as the superuser over TCP, without the
	// password (Env has it).
	URL string
}

// Env returns the environment the code under test needs to connect:
// PGPASSWORD.
func (d *DB) Env() []string { return []string{"PGPASSWORD=" + Password} }

// Conn opens a connection to the database for the test's own queries,
// closed when the test ends.
func (d *DB) Conn(t testing.TB) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = Password
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect to %s: %v", d.URL, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// New returns a fresh database on the package's server, starting the
// server on first use. Without PostgreSQL it skips the test, or fails it
// when CHURN_REQUIRE_POSTGRES=1.
func New(t testing.TB) *DB {
	t.Helper()
	s := server(t)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbs.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := s.connect(ctx, "postgres")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	return &DB{Server: s, Name: name, URL: s.URL(name)}
}

// URL returns the connection URL of database db, without the password.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", User, s.Port, db)
}

func (s *Server) connect(ctx context.Context, db string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(s.URL(db))
	if err != nil {
		return nil, err
	}
	cfg.Password = Password
	return pgx.ConnectConfig(ctx, cfg)
}

func server(t testing.TB) *Server {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if shared == nil && started == nil {
		shared, started = Start()
	}
	if started != nil {
		if errors.Is(started, errNotInstalled) && os.Getenv(EnvRequire) != "1" {
			t.Skipf("pgtest: %v (make postgres installs it; make test requires it)", started)
		}
		t.Fatalf("pgtest: %v", started)
	}
	return shared
}

var errNotInstalled = errors.New("PostgreSQL's initdb and postgres are not installed")

// binDir finds the newest /usr/lib/postgresql/N/bin with initdb, else the
// folder of initdb on PATH.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errNotInstalled
}

// Start initialises and starts a new cluster; Stop stops it and removes
// its folder.
func Start() (_ *Server, err error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "churn-pg-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	pw := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pw, []byte(Password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if cred != nil {
		for _, p := range []string{dir, pw} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, err
			}
		}
	}
	run := func(name string, args ...string) *exec.Cmd {
		c := exec.Command(filepath.Join(bin, name), args...)
		c.Dir = dir
		c.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "TZ=UTC")
		if cred != nil {
			c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		return c
	}
	data := filepath.Join(dir, "data")
	if out, err := run("initdb", "-D", data, "-U", User, "--pwfile", pw, "--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C.UTF-8", "--no-sync", "--no-instructions").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	c := run("postgres", "-D", data, "-p", strconv.Itoa(port), "-k", dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off", "-c", "max_connections=60",
		"-c", "timezone=UTC", "-c", "log_timezone=UTC")
	c.Stdout, c.Stderr = logf, logf
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %v", err)
	}
	s := &Server{Dir: dir, Port: port, cmd: c, done: make(chan error, 1)}
	go func() { s.done <- c.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := s.connect(ctx, "postgres")
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return s, nil
		}
		select {
		case werr := <-s.done:
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			return nil, fmt.Errorf("postgres exited: %v\n%s", werr, log)
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			return nil, fmt.Errorf("postgres did not accept connections within a minute: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop stops the server (fast shutdown) and removes its folder.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	}
	os.RemoveAll(s.Dir)
}

// credential returns the unprivileged user to run the server as when the
// tests run as root (nil otherwise): postgres, else nobody.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 == nil && err2 == nil && uid != 0 {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
		}
	}
	return nil, errors.New("running as root and there is no postgres or nobody user to run the server as")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
