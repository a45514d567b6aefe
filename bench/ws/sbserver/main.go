// Command sbserver is Switchboard's entry in the shared WebSocket benchmark
// (../../../shared/bench/ws): any path upgrades; every message is echoed
// with its opcode, except one starting with '!', which is broadcast to every
// connected client (sender included), encoded once. Compression is off, as
// for the other servers in the benchmark. Loopback only.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"

	"github.com/switchboard/switchboard/websocket"
)

type hub struct {
	mu    sync.RWMutex
	conns map[*websocket.Conn]struct{}
}

func (h *hub) OnOpen(c *websocket.Conn) {
	h.mu.Lock()
	h.conns[c] = struct{}{}
	h.mu.Unlock()
}

func (h *hub) OnClose(c *websocket.Conn, err error) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

func (h *hub) OnMessage(c *websocket.Conn, typ websocket.MessageType, data []byte) {
	if len(data) > 0 && data[0] == '!' {
		pm, err := websocket.NewPreparedMessage(typ, data)
		if err != nil {
			return
		}
		h.mu.RLock()
		for x := range h.conns {
			_ = x.WritePrepared(pm)
		}
		h.mu.RUnlock()
		return
	}
	_ = c.WriteMessage(typ, data)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9110", "listen address (loopback only)")
	loops := flag.Int("loops", 0, "event loops (0: GOMAXPROCS)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile here until SIGTERM")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		_ = pprof.StartCPUProfile(f)
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		go func() {
			<-sig
			pprof.StopCPUProfile()
			_ = f.Close()
			os.Exit(0)
		}()
	}
	srv, err := websocket.NewServer(websocket.Config{
		CheckOrigin:    func(*http.Request) bool { return true },
		MaxMessageSize: 64 << 20,
		Loops:          *loops,
	})
	if err != nil {
		log.Fatal(err)
	}
	h := &hub{conns: map[*websocket.Conn]struct{}{}}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(srv.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = srv.Upgrade(w, r, h)
	})))
}
