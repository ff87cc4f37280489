// Package emf writes CloudWatch embedded metric format (EMF) documents: one JSON object per line
// on a Lambda's standard output, from which CloudWatch Logs extracts the metrics — no API call,
// no extra permission, and the metric is there even when the function fails right after.
// Format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
// A line without a "level" key passes the functions' INFO log-level filter: Lambda takes it as INFO
// (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
package emf

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"
)

// Metric is one value of a document.
type Metric struct {
	Name string
	// Unit is a CloudWatch unit: "Seconds", "Count", …
	Unit  string
	Value float64
}

// Write writes one document: the metrics under namespace, with one dimension set made of every
// dimension in dims, at time at. Each write is one line (one log event).
func Write(w io.Writer, namespace string, dims map[string]string, at time.Time, metrics ...Metric) error {
	if namespace == "" || len(metrics) == 0 {
		return fmt.Errorf("emf: a document needs a namespace and at least one metric")
	}
	type definition struct {
		Name string `json:"Name"`
		Unit string `json:"Unit,omitempty"`
	}
	doc := map[string]any{}
	names := slices.Sorted(maps.Keys(dims))
	for _, d := range names {
		doc[d] = dims[d]
	}
	defs := make([]definition, 0, len(metrics))
	for _, m := range metrics {
		if _, clash := doc[m.Name]; clash || m.Name == "_aws" {
			return fmt.Errorf("emf: metric %q is also a dimension or repeated", m.Name)
		}
		doc[m.Name] = m.Value
		defs = append(defs, definition{Name: m.Name, Unit: m.Unit})
	}
	if names == nil {
		names = []string{}
	}
	doc["_aws"] = map[string]any{
		"Timestamp": at.UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  namespace,
			"Dimensions": [][]string{names},
			"Metrics":    defs,
		}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	_, err = w.Write(append(line, '\n'))
	return err
}
