package lifecycle

import (
	"context"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/metrics"
)

// Report is what one reconcile pass did.
type Report struct {
	Examined int            `json:"examined"`
	Outcomes map[string]int `json:"outcomes"`
	Failed   int            `json:"failed"`
	Accounts int            `json:"accounts_finished"`
	// AccountsExamined of Examined were accounts, the rest recordings.
	AccountsExamined int `json:"accounts_examined"`
	// More is true when the pass stopped at its item or time budget with
	// due work left; the next pass continues with it.
	More bool `json:"more"`
}

// Fixed counts the items whose state this pass changed.
func (r Report) Fixed() int {
	n := 0
	for o, c := range r.Outcomes {
		if Fixes[o] {
			n += c
		}
	}
	return n
}

// duePageSize is one Query on the sparse by-due index.
const duePageSize = 100

// Reconcile visits everything whose due time has come: pending records
// past their upload window plus grace, recordings stuck in "deleting",
// rejected records whose object removal is unconfirmed, accounts whose
// deletion did not finish. The work is bounded by maxItems and by ctx's
// deadline; each item is converged by the same functions the event path
// uses, with conditional writes, so a pass is idempotent and safe alongside
// the events handler, the API and another pass. Every fix is logged as one
// line.
func (k *Keeper) Reconcile(ctx context.Context, maxItems int) (Report, error) {
	rep := Report{Outcomes: map[string]int{}}
	ctx = withOutages(metrics.WithService(ctx, metrics.ServiceReconciler))
	defer k.emitPass(ctx, &rep)
	now := k.now()
	budgetLeft := func() bool {
		if rep.Examined >= maxItems || ctx.Err() != nil {
			rep.More = true
			return false
		}
		return true
	}
	visit := func(query func(context.Context, int, time.Time, int, *dynamo.DuePage) (dynamo.DuePage, error), each func(dynamo.DueRef)) error {
		for shard := range dynamo.DueShards {
			var after *dynamo.DuePage
			for {
				if !budgetLeft() {
					return nil
				}
				page, err := query(ctx, shard, now, duePageSize, after)
				if err != nil {
					return err
				}
				for _, ref := range page.Refs {
					if !budgetLeft() {
						return nil
					}
					rep.Examined++
					each(ref)
				}
				if !page.More() {
					break
				}
				after = &page
			}
		}
		return nil
	}
	err := visit(k.Store.DueRecordings, func(ref dynamo.DueRef) {
		outcome, err := k.Converge(ctx, ref.UserID, ref.RecordingID, "")
		k.logItem(ctx, "recording", ref, outcome, err)
		if err != nil {
			rep.Failed++
			return
		}
		rep.Outcomes[outcome]++
	})
	if err != nil {
		return rep, err
	}
	err = visit(k.Store.DueAccounts, func(ref dynamo.DueRef) {
		rep.AccountsExamined++
		d, err := k.DeleteAccountAs(ctx, ref.UserID, "")
		outcome := "account_deleted"
		if d.ProviderCallsPending {
			outcome = "provider_calls_pending"
		}
		k.logItem(ctx, "account", ref, outcome, err)
		if err != nil {
			rep.Failed++
			return
		}
		if !d.ProviderCallsPending {
			rep.Accounts++
		}
	})
	return rep, err
}

func (k *Keeper) logItem(ctx context.Context, kind string, ref dynamo.DueRef, outcome string, err error) {
	attrs := []any{"component", "reconciler", "kind", kind, "user_id", ref.UserID}
	if ref.RecordingID != "" {
		attrs = append(attrs, "recording_id", ref.RecordingID)
	}
	attrs = append(attrs, "due_at", time.Unix(ref.DueAt, 0).UTC())
	switch {
	case err != nil:
		k.Log.ErrorContext(ctx, "reconcile item", append(attrs, "error", err)...)
	case Fixes[outcome] || kind == "account":
		k.Log.InfoContext(ctx, "reconcile fix", append(attrs, "outcome", outcome)...)
	default:
		k.Log.DebugContext(ctx, "reconcile item", append(attrs, "outcome", outcome)...)
	}
}

// Loop runs a pass every interval until ctx ends: the local stack's
// stand-in for the scheduled Lambda. Each pass gets at most one interval.
func (k *Keeper) Loop(ctx context.Context, interval time.Duration, maxItems int) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, interval)
		rep, err := k.Reconcile(pctx, maxItems)
		cancel()
		if err != nil && ctx.Err() == nil {
			k.Log.ErrorContext(ctx, "reconcile pass failed", "component", "reconciler", "error", err)
			continue
		}
		if rep.Examined > 0 {
			k.Log.InfoContext(ctx, "reconcile pass", "component", "reconciler", "examined", rep.Examined,
				"fixed", rep.Fixed(), "failed", rep.Failed, "accounts_finished", rep.Accounts, "more", rep.More)
		}
	}
}

// emitPass records what a pass examined and fixed, by kind, as EMF: fixes
// the reconciler had to make are what the event path missed.
func (k *Keeper) emitPass(ctx context.Context, rep *Report) {
	for _, kind := range []struct {
		name            string
		examined, fixed int
	}{
		{"recording", rep.Examined - rep.AccountsExamined, rep.Fixed()},
		{"account", rep.AccountsExamined, rep.Accounts},
	} {
		if kind.examined == 0 {
			continue
		}
		k.emit(ctx, "reconcile pass", map[string]string{metrics.DimKind: kind.name}, []any{"component", "reconciler"},
			metrics.Value{Metric: metrics.ReconcileExamined, Value: float64(kind.examined)},
			metrics.Value{Metric: metrics.ReconcileFixed, Value: float64(kind.fixed)})
	}
}
