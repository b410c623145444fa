package metrics

import (
	"encoding/json"
	"fmt"
)

// ValidateEMF checks one log line against the EMF specification's rules
// that CloudWatch enforces: an "_aws" object with a millisecond Timestamp
// and CloudWatchMetrics directives, each with a Namespace, dimension sets of
// at most 30 names and metrics of at most 100; every metric a number at the
// top level, every dimension a string at the top level. It returns the
// metric names the line carries.
func ValidateEMF(line []byte) ([]string, error) {
	var doc map[string]any
	if err := json.Unmarshal(line, &doc); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	aws, ok := doc["_aws"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no _aws object")
	}
	if ts, ok := aws["Timestamp"].(float64); !ok || ts < 1e12 {
		return nil, fmt.Errorf("_aws.Timestamp %v is not epoch milliseconds", aws["Timestamp"])
	}
	dirs, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(dirs) == 0 {
		return nil, fmt.Errorf("no CloudWatchMetrics directive")
	}
	var names []string
	for _, d := range dirs {
		dir, _ := d.(map[string]any)
		if ns, _ := dir["Namespace"].(string); ns == "" {
			return nil, fmt.Errorf("directive without Namespace")
		}
		sets, _ := dir["Dimensions"].([]any)
		for _, s := range sets {
			set, _ := s.([]any)
			if len(set) > 30 {
				return nil, fmt.Errorf("dimension set over 30 names")
			}
			for _, n := range set {
				name, _ := n.(string)
				if v, ok := doc[name].(string); !ok || v == "" {
					return nil, fmt.Errorf("dimension %q has no string value at the top level", name)
				}
			}
		}
		ms, _ := dir["Metrics"].([]any)
		if len(ms) == 0 || len(ms) > 100 {
			return nil, fmt.Errorf("directive with %d metrics", len(ms))
		}
		for _, m := range ms {
			def, _ := m.(map[string]any)
			name, _ := def["Name"].(string)
			if _, ok := doc[name].(float64); !ok {
				return nil, fmt.Errorf("metric %q has no number at the top level", name)
			}
			names = append(names, name)
		}
	}
	return names, nil
}
