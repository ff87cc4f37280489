package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
)

// cpuProfileEnv names a directory: when set, every cognito-dr process (the bench's `local`
// stack and each `bench-task` invocation among them) writes its CPU profile there, as
// <command>-<pid>.pprof, for `go tool pprof`.
const cpuProfileEnv = "COGNITO_DR_CPUPROFILE"

// startCPUProfile starts the process's CPU profile if cpuProfileEnv asks for one; the returned
// function stops and writes it.
func startCPUProfile(command string) (stop func(), err error) {
	dir := os.Getenv(cpuProfileEnv)
	if dir == "" {
		return func() {}, nil
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", command, os.Getpid())))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cpuProfileEnv, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", cpuProfileEnv, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
