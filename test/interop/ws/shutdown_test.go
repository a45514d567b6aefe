package ws_test

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/websocket"
)

// TestShutdownGoingAway: Server.Shutdown while npm ws clients are busy
// sending must close every one of them with 1001 (going away), on both
// server entry points, and return once they are gone.
func TestShutdownGoingAway(t *testing.T) {
	node := testutil.Node(t)
	testutil.NodeModules(t)
	const conns = 20
	for _, entry := range []string{"Serve", "Upgrade"} {
		t.Run(entry, func(t *testing.T) {
			srv, err := websocket.NewServer(echoConfig())
			if err != nil {
				t.Fatal(err)
			}
			var addr string
			switch entry {
			case "Serve":
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				served := make(chan error, 1)
				go func() { served <- srv.Serve(ln, echoMux(t, srv)) }()
				t.Cleanup(func() {
					select {
					case <-served:
					case <-time.After(10 * time.Second):
						t.Error("Serve did not return after Shutdown")
					}
				})
				addr = ln.Addr().String()
			case "Upgrade":
				hs := httptest.NewServer(echoMux(t, srv))
				t.Cleanup(hs.Close)
				addr = hs.Listener.Addr().String()
			}

			dir := testutil.NodeDir(t)
			p := testutil.StartProcess(t, node, []string{dir + "/ws_hold.mjs", "ws://" + addr + "/echo", fmt.Sprint(conns)},
				func(c *exec.Cmd) { c.Dir = dir })
			p.WaitOutput(t, fmt.Sprintf("open %d", conns), 60*time.Second)
			time.Sleep(100 * time.Millisecond) // let traffic flow on every connection

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer wcancel()
			if err := p.Wait(wctx); err != nil {
				t.Fatalf("ws_hold: %v\n%s", err, p.Output())
			}
			if want := fmt.Sprintf("closed 1001 %d\n", conns); !strings.Contains(p.Output(), want) {
				t.Fatalf("want every connection closed with 1001 (%q); got:\n%s", want, p.Output())
			}
		})
	}
}
