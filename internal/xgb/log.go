package xgb

import "C"

import (
	"context"
	"log/slog"
	"strings"
)

// xgbGoLog receives one XGBoost log message on the thread that raised it and
// passes it to slog's default logger, so that nothing reaches stdout.
//
//export xgbGoLog
func xgbGoLog(msg *C.char) {
	level, text, at := parseLogLine(C.GoString(msg))
	if text == "" {
		return
	}
	ctx := context.Background()
	l := slog.Default()
	if !l.Enabled(ctx, level) {
		return
	}
	attrs := []any{slog.String("component", "xgboost")}
	if at != "" {
		attrs = append(attrs, slog.String("at", at))
	}
	l.Log(ctx, level, text, attrs...)
}

// parseLogLine splits an XGBoost log line such as
// "[10:20:30] WARNING: ../src/learner.cc:767: \nParameters: { \"x\" } are not used.\n"
// into its level, its message with whitespace collapsed, and its source location.
func parseLogLine(s string) (level slog.Level, text, at string) {
	s = strings.TrimSpace(s)
	if len(s) > 10 && s[0] == '[' && s[9] == ']' {
		s = strings.TrimSpace(s[10:])
	}
	level = slog.LevelInfo
	for _, p := range []struct {
		prefix string
		level  slog.Level
	}{{"WARNING:", slog.LevelWarn}, {"INFO:", slog.LevelInfo}, {"DEBUG:", slog.LevelDebug}} {
		if rest, ok := strings.CutPrefix(s, p.prefix); ok {
			level, s = p.level, strings.TrimSpace(rest)
			// A location "path/file.cc:123:" follows the level.
			if loc, msg, ok := strings.Cut(s, ": "); ok && strings.Contains(loc, ".cc:") && !strings.ContainsAny(loc, " \n") {
				at, s = loc[strings.LastIndex(loc, "/")+1:], msg
			}
			break
		}
	}
	return level, strings.Join(strings.Fields(s), " "), at
}
