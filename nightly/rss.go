package nightly

import "syscall"

// peakRSSMB is the process's peak resident set size in MiB (getrusage's
// ru_maxrss, kilobytes on Linux); 0 when unknown.
func peakRSSMB() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return int64(ru.Maxrss) / 1024
}
