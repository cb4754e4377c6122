package proxy

import (
	"math/rand/v2"
	"time"
)

// jitter spreads periodic work (re-login, max-age closes) over the last
// tenth of its period so sessions started together do not act together.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	spread := d / 10
	if spread <= 0 {
		return d
	}
	return d - time.Duration(rand.Int64N(int64(spread)))
}

// maxAgeJitter picks a pass-through session's lifetime in
// [maxAge-30m, maxAge] (a twentieth of maxAge for short test settings).
func maxAgeJitter(maxAge time.Duration) time.Duration {
	spread := 30 * time.Minute
	if maxAge < 2*spread {
		spread = maxAge / 20
	}
	if spread <= 0 {
		return maxAge
	}
	return maxAge - time.Duration(rand.Int64N(int64(spread)))
}
