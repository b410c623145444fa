package artefact

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

// The template decides which function each kind of event reaches: an
// EventBridge rule's target, an SQS event source mapping, the bucket's
// notification configuration. The event cases ask it here rather than
// naming a function, so a rule that loses its target or points at another
// function fails the case.

// ruleTarget is the function that receives what the rule matching match
// (given the rule's EventPattern and ScheduleExpression) sends.
func (d *deployment) ruleTarget(t *testing.T, what string, match func(pattern map[string][]any, schedule string) bool) *function {
	t.Helper()
	var targets []string
	for _, r := range d.template.Resources {
		if r.Type != "AWS::Events::Rule" {
			continue
		}
		var p struct {
			EventPattern       map[string]json.RawMessage `json:"EventPattern"`
			ScheduleExpression string                     `json:"ScheduleExpression"`
			Targets            []struct {
				Arn any `json:"Arn"`
			} `json:"Targets"`
		}
		if err := json.Unmarshal(r.Properties, &p); err != nil {
			t.Fatal(err)
		}
		pattern := map[string][]any{}
		for k, v := range p.EventPattern {
			var list []any
			if json.Unmarshal(v, &list) == nil {
				pattern[k] = list
			}
		}
		if !match(pattern, p.ScheduleExpression) {
			continue
		}
		for _, tg := range p.Targets {
			targets = append(targets, d.functionsIn(tg.Arn)...)
		}
	}
	return d.only(t, "the EventBridge rule for "+what, targets)
}

// queueConsumer is the function an SQS event source mapping feeds from
// the queue named queueName.
func (d *deployment) queueConsumer(t *testing.T, queueName string) *function {
	t.Helper()
	var found []string
	for _, r := range d.template.Resources {
		if r.Type != "AWS::Lambda::EventSourceMapping" {
			continue
		}
		var p struct {
			EventSourceArn any `json:"EventSourceArn"`
			FunctionName   any `json:"FunctionName"`
		}
		if err := json.Unmarshal(r.Properties, &p); err != nil {
			t.Fatal(err)
		}
		for lid, q := range d.template.Resources {
			if q.Type == "AWS::SQS::Queue" && d.template.physicalName(lid) == queueName && refersTo(p.EventSourceArn, lid) {
				found = append(found, d.functionsIn(p.FunctionName)...)
			}
		}
	}
	return d.only(t, "the event source mapping of queue "+queueName, found)
}

// bucketNotified is the function the bucket's notification configuration
// sends object events to.
func (d *deployment) bucketNotified(t *testing.T) *function {
	t.Helper()
	var found []string
	for _, r := range d.template.Resources {
		if r.Type != "AWS::S3::Bucket" {
			continue
		}
		var p struct {
			NotificationConfiguration struct {
				LambdaConfigurations []struct {
					Function any `json:"Function"`
				} `json:"LambdaConfigurations"`
			} `json:"NotificationConfiguration"`
		}
		if err := json.Unmarshal(r.Properties, &p); err != nil {
			t.Fatal(err)
		}
		for _, c := range p.NotificationConfiguration.LambdaConfigurations {
			found = append(found, d.functionsIn(c.Function)...)
		}
	}
	return d.only(t, "the bucket's notifications", found)
}

// functionsIn is the logical ids of the running functions v refers to.
func (d *deployment) functionsIn(v any) []string {
	var out []string
	for _, f := range d.functions() {
		if refersTo(v, f.spec.logicalID) {
			out = append(out, f.spec.logicalID)
		}
	}
	return out
}

func (d *deployment) functions() []*function {
	return []*function{d.api, d.events, d.reconciler, d.export}
}

// only is the one running function of ids, or fails the test naming what.
func (d *deployment) only(t *testing.T, what string, ids []string) *function {
	t.Helper()
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) != 1 {
		t.Fatalf("%s: the template sends it to %v; want one function", what, ids)
	}
	for _, f := range d.functions() {
		if f.spec.logicalID == ids[0] {
			return f
		}
	}
	panic(fmt.Sprintf("function %s is not running", ids[0]))
}

// patternHas reports whether an event pattern's field lists value.
func patternHas(pattern map[string][]any, field, value string) bool {
	return slices.Contains(pattern[field], any(value))
}
