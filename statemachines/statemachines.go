// Package statemachines embeds the Amazon States Language definitions exactly as they are deployed,
// so the CDK stacks and the local executor read the same bytes.
package statemachines

import (
	"embed"
	"fmt"
)

//go:embed *.asl.json
var files embed.FS

// Names of the state machines.
const (
	Backup    = "backup"
	Failback  = "failback"
	Failover  = "failover"
	Reconcile = "reconcile"
	Restore   = "restore"
)

// Definition returns the ASL of the named state machine, with its ${Placeholders} unreplaced.
func Definition(name string) ([]byte, error) {
	b, err := files.ReadFile(name + ".asl.json")
	if err != nil {
		return nil, fmt.Errorf("state machine %q: %w", name, err)
	}
	return b, nil
}

// Names lists every embedded state machine.
func Names() []string {
	entries, _ := files.ReadDir(".")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		const ext = ".asl.json"
		names = append(names, e.Name()[:len(e.Name())-len(ext)])
	}
	return names
}
