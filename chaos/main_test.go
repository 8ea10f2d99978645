package chaos

import (
	"testing"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Some Toxiproxy toxics log through zerolog's global logger; keep the
	// test output to the figures.
	zerolog.SetGlobalLevel(zerolog.Disabled)
	goleak.VerifyTestMain(m, ignoreToxicStubs)
}
