//go:build !linux

package predict

// pidAlive cannot tell here: staging folders are kept.
func pidAlive(int) bool { return true }
