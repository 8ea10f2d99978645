package main

import "testing"

// The claim of the scenario: only a limit per client protects the polite
// clients from the abusive one.
func TestFairness(t *testing.T) {
	runs := map[string]fairRun{}
	for _, r := range seed1Results(t).fairness {
		runs[r.variant] = r
	}
	served := func(r fairRun) float64 { return float64(r.polite.ok) / float64(r.polite.sent) }
	for _, v := range fairVariants {
		r := runs[v]
		t.Logf("%s: polite served %.3f (worst client %.3f), abuser served %d of %d", v, served(r), r.worst, r.abuser.ok, r.abuser.sent)
	}
	if r := runs["per-client limit"]; served(r) < 0.99 || r.worst < 0.98 {
		t.Errorf("per-client limit: polite clients served %.3f, worst %.3f; want all of them served", served(r), r.worst)
	}
	if r := runs["per-client limit"]; float64(r.abuser.ok) > 1.2*fairKeyed.Config.Rate*fairLength.Seconds()+float64(fairKeyed.Config.Burst) {
		t.Errorf("per-client limit: abuser served %d, more than its rate allows", r.abuser.ok)
	}
	if r := runs["per-client limit"]; r.keys.Keys != fairPolite+1 || r.keys.Evicted != 0 {
		t.Errorf("per-client limit: group stats %+v, want %d keys, none evicted", r.keys, fairPolite+1)
	}
	for _, v := range []string{"no limit", "global limit"} {
		if r := runs[v]; served(r) > 0.5 {
			t.Errorf("%s: polite clients served %.3f, want most of them starved by the abuser", v, served(r))
		}
	}
}
