package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium: the test fails without it when
// DEAI_REQUIRE_BROWSER=1 (./test sets it after installing the package),
// and skips saying so otherwise.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("DEAI_REQUIRE_BROWSER") == "1" {
		t.Fatal("DEAI_REQUIRE_BROWSER=1 but no chromium: install Debian's chromium package (apt-get install chromium)")
	}
	t.Skip("no chromium found (apt-get install chromium, or run ./test as root): the explorer's browser test needs it")
	return ""
}

// artifactsDir is where the test keeps its screenshots: $DEAI_TEST_ARTIFACTS
// when set, else a temporary directory.
func artifactsDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("DEAI_TEST_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestExplorerInBrowser opens the gateway's explorer of a whole deai up
// network in headless Chromium: the page fills, the height grows through
// the event stream, the metagraph has rows, the incentive and emission
// charts draw lines after epochs, the miners, agents and disputes
// sections render, and the page logs no error (console or browser log)
// and throws nothing.
func TestExplorerInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	if testing.Short() {
		t.Skip("runs the whole network and a browser")
	}
	home, cfg := freshUpHome(t)
	info, _, _ := upOnce(t, home, cfg)
	if info.Explorer == "" || !strings.HasSuffix(info.Explorer, "/ui/") {
		t.Fatalf("up reports explorer %q", info.Explorer)
	}
	base := strings.TrimSuffix(info.Explorer, "/ui/")

	// One answer through the gateway, so that a miner has latency and a
	// receipt.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, info.Gateway+"/chat/completions",
		strings.NewReader(`{"model":"`+info.ModelID+`","messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":8}`))
	req.Header.Set("Authorization", "Bearer "+info.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("chat completion: %s", resp.Status)
	}

	// Wait until the gateway's history holds epochs that paid incentive.
	deadline := time.Now().Add(90 * time.Second)
	for {
		var hs []struct {
			Epochs []struct {
				Neurons []struct {
					Incentive float64 `json:"incentive"`
				} `json:"neurons"`
			} `json:"epochs"`
		}
		if err := getJSON(base+"/ui/api/history", &hs); err != nil {
			t.Fatal(err)
		}
		paid := 0
		if len(hs) > 0 {
			for _, e := range hs[0].Epochs {
				for _, n := range e.Neurons {
					if n.Incentive > 0 {
						paid++
						break
					}
				}
			}
		}
		if len(hs) > 0 && len(hs[0].Epochs) >= 3 && paid >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 90 s the explorer's history has no paying epoch: %+v", hs)
		}
		time.Sleep(500 * time.Millisecond)
	}

	actx, acancel := chromedp.NewExecAllocator(t.Context(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU, chromedp.WindowSize(1400, 1000))...)
	defer acancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, tcancel := context.WithTimeout(ctx, 120*time.Second)
	defer tcancel()

	var mu sync.Mutex // guards problems
	var problems []string
	if err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if string(ev.Type) == "error" {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				mu.Lock()
				problems = append(problems, "console.error: "+strings.Join(args, " "))
				mu.Unlock()
			}
		case *cdplog.EventEntryAdded:
			// The browser's own log: CSP violations, failed loads.
			if e := ev.Entry; e != nil && string(e.Level) == "error" {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("browser log (%s): %s %s", e.Source, e.Text, e.URL))
				mu.Unlock()
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			mu.Lock()
			problems = append(problems, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}

	dir := artifactsDir(t)
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
	poll := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(45*time.Second))); err != nil {
			shot("explorer-failed.png")
			t.Fatalf("waiting for %s (%s): %v", what, expr, err)
		}
	}
	height := func() int64 {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('height').textContent`))
		if err != nil {
			t.Fatal(err)
		}
		h, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("height shown: %q", s)
		}
		return h
	}

	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(info.Explorer)); err != nil {
		t.Fatalf("open %s: %v", info.Explorer, err)
	}
	poll("the page to load", `document.body.hasAttribute('data-loaded')`)
	t.Logf("explorer filled in %v", time.Since(start).Round(time.Millisecond))
	poll("block rows", `document.querySelectorAll('#blocks tbody tr[data-height]').length >= 5`)
	shot("explorer-initial.png")
	poll("the live stream", `document.getElementById('live').textContent === 'live'`)
	h1 := height()
	time.Sleep(1500 * time.Millisecond) // 7 blocks at 200 ms
	if h2 := height(); h2 <= h1 {
		t.Fatalf("the height shown stayed at %d (then %d): no live updates", h1, h2)
	}

	poll("metagraph rows", `document.querySelectorAll('#subnet-list table.metagraph tbody tr:not(.empty)').length >= 4`)
	for _, c := range []string{"chart-incentive", "chart-emission"} {
		poll(c+" lines", `[...document.querySelectorAll('svg.`+c+` path.line')].some(p => +p.dataset.points >= 3 && p.getAttribute('d').includes('L'))`)
	}
	poll("a line above zero", `[...document.querySelectorAll('svg.chart-incentive path.line')].some(p => /L[\d.]+,([\d.]+)/.test(p.getAttribute('d')) && p.getAttribute('d').match(/,([\d.]+)/g).some(y => +y.slice(1) < 150))`)
	poll("miner rows", `document.querySelectorAll('#miner-table tbody tr:not(.empty)').length >= 3`)
	poll("a miner with a receipt", `[...document.querySelectorAll('#miner-table tbody tr')].some(r => r.cells.length > 7 && +r.cells[7].textContent >= 1)`)
	// The example agents' budgets at their signers, with what they spent.
	poll("budget rows", `document.querySelectorAll('#budget-table tbody tr:not(.empty)').length === 3`)
	var budgets []struct {
		Name  string
		Spent string
	}
	if err := getJSON(base+"/ui/api/agents", &budgets); err != nil || len(budgets) != 3 {
		t.Fatalf("agents' budgets %+v, %v", budgets, err)
	}
	for _, sel := range []string{"#budget-table", "#service-table", "#channel-table", "#permission-table", "#lease-table", "#dispute-table", "#jail-table"} {
		poll(sel+" rendered", `document.querySelector('`+sel+` tbody').rows.length >= 1`)
	}
	var services []json.RawMessage
	if err := getJSON(base+"/ui/api/query/agents/services", &services); err != nil {
		t.Fatal(err)
	}
	if len(services) > 0 {
		poll("service rows", `document.querySelectorAll('#service-table tbody tr:not(.empty)').length >= 1`)
	}
	poll("the account lookup", `document.getElementById('account-balance') !== null`)
	shot("explorer-epochs.png")

	errText, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('errors').textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if errText != "" {
		t.Errorf("the page reports: %s", errText)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser: %s", p)
	}
	t.Logf("%d services, chain height %d→; screenshots in %s", len(services), h1, dir)
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
