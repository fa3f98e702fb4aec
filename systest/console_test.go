package systest

import (
	"testing"

	"github.com/chromedp/chromedp"
)

func TestConsole(t *testing.T) {
	_ = chromedp.NewContext
	t.Skip("not yet")
}
