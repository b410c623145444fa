package dynamo_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/testenv"
)

// Of many logins racing with one nonce, exactly one consumes it; an
// expired or unknown nonce is consumed by none.
func TestNonceIsConsumedOnce(t *testing.T) {
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	c := env.Provision(t, cfg)
	n := dynamo.NewNonces(c.DynamoDB, cfg.TablePrefix)
	ctx := context.Background()
	now := time.Now()
	if err := n.Put(ctx, "h1", now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := n.Put(ctx, "h1", now.Add(10*time.Minute)); err == nil {
		t.Fatal("the same nonce hash stored twice")
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := n.Consume(ctx, "h1", now)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if w := wins.Load(); w != 1 {
		t.Fatalf("%d logins consumed one nonce", w)
	}
	if err := n.Put(ctx, "h2", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		hash string
		at   time.Time
	}{{"h2", now.Add(2 * time.Minute)}, {"unknown", now}} {
		if ok, err := n.Consume(ctx, tc.hash, tc.at); ok || err != nil {
			t.Errorf("consume %s at %s: %v %v", tc.hash, tc.at, ok, err)
		}
	}
}
