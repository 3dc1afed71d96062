package xgb

/*
#cgo LDFLAGS: -lxgboost
#include <stdlib.h>
#include <xgboost/c_api.h>

extern void xgbGoLog(char*);

// xgbRegisterLog routes XGBoost's log messages raised on the calling thread to
// Go (the callback registry is thread-local in XGBoost 1.7).
static int xgbRegisterLog(void) {
	return XGBRegisterLogCallback((void (*)(const char*))xgbGoLog);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unsafe"
)

// ErrClosed is returned (wrapped) by every method called after Close.
var ErrClosed = errors.New("xgb: use of closed handle")

// Error is a failure reported by XGBoost's C API.
type Error struct {
	Func string // the C function that failed, e.g. "XGBoosterUpdateOneIter"
	Msg  string // XGBGetLastError's text, without its timestamp and stack trace
}

func (e *Error) Error() string { return "xgboost: " + e.Func + ": " + e.Msg }

// Version reports the version of the libxgboost that is linked in.
func Version() (major, minor, patch int) {
	var a, b, c C.int
	C.XGBoostVersion(&a, &b, &c)
	return int(a), int(b), int(c)
}

// call runs f, which makes one XGBoost C call named fn, and turns a non-zero
// return into an *Error with XGBGetLastError's text. The error text is
// thread-local, so the goroutine is locked to its thread across both calls.
func call(fn string, f func() C.int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	C.xgbRegisterLog()
	if f() == 0 {
		return nil
	}
	return &Error{Func: fn, Msg: cleanMessage(C.GoString(C.XGBGetLastError()))}
}

// cleanMessage drops XGBoost's "[hh:mm:ss] " prefix and the stack trace that
// follows the message.
func cleanMessage(s string) string {
	if i := strings.Index(s, "Stack trace:"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if len(s) > 10 && s[0] == '[' && s[9] == ']' && s[3] == ':' && s[6] == ':' {
		s = strings.TrimSpace(s[10:])
	}
	if s == "" {
		s = "unknown error"
	}
	return s
}

// cStrings copies ss into C memory as a char* array; free releases it.
func cStrings(ss []string) (arr **C.char, free func()) {
	if len(ss) == 0 {
		return nil, func() {}
	}
	ptrSize := unsafe.Sizeof((*C.char)(nil))
	p := C.malloc(C.size_t(len(ss)) * C.size_t(ptrSize))
	view := unsafe.Slice((**C.char)(p), len(ss))
	for i, s := range ss {
		view[i] = C.CString(s)
	}
	return (**C.char)(p), func() {
		for _, q := range view {
			C.free(unsafe.Pointer(q))
		}
		C.free(p)
	}
}

// goStrings copies a C char* array of length n into Go strings.
func goStrings(arr **C.char, n C.bst_ulong) []string {
	if n == 0 || arr == nil {
		return nil
	}
	view := unsafe.Slice(arr, int(n))
	out := make([]string, len(view))
	for i, q := range view {
		out[i] = C.GoString(q)
	}
	return out
}

func closedErr(op string) error { return fmt.Errorf("%s: %w", op, ErrClosed) }
