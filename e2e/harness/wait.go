package harness

import (
	"context"
	"fmt"
	"time"
)

// PollInterval is how often Eventually checks its condition.
var PollInterval = 200 * time.Millisecond

// Eventually calls cond every PollInterval until it returns true, returns an
// error, or timeout passes. On timeout the error includes the last reason
// that cond gave through its string result, so a failing test says what it
// was still waiting for.
func Eventually(ctx context.Context, timeout time.Duration, cond func(ctx context.Context) (done bool, why string, err error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	var why string
	for {
		done, w, err := cond(ctx)
		if err != nil && ctx.Err() == nil {
			return err
		}
		if done && err == nil {
			return nil
		}
		if w != "" {
			why = w
		}
		select {
		case <-ctx.Done():
			if why == "" {
				why = "condition not met"
			}
			return fmt.Errorf("after %s: %s", timeout, why)
		case <-tick.C:
		}
	}
}
