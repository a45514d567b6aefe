package abuse

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// TestSignalingChurnWithResets: signaling rooms under relay traffic whose
// peers vanish with a TCP reset while the server has output queued for them,
// and are replaced at once. A failed send tears a peer down inside the
// event loop's flush, and its OnClose (peer-left to the room) writes to the
// other members, possibly in the same flush pass. The server must keep
// serving: a well-behaved client is checked every few hundred milliseconds.
func TestSignalingChurnWithResets(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const rooms, size = 24, 8
	const dur = 12 * time.Second

	type peer struct {
		ws  *websocket.ClientConn
		tcp *net.TCPConn
		id  string
	}
	var mu sync.Mutex
	members := make([][]*peer, rooms)
	var readers, workers sync.WaitGroup
	join := func(room int) (*peer, error) {
		var tcp *net.TCPConn
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/signal", &websocket.DialOptions{NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := smallBufDialer(room)(ctx, network, addr)
			if err == nil {
				tcp = c.(*net.TCPConn)
			}
			return c, err
		}})
		if err != nil {
			return nil, err
		}
		if err := ws.Write(ctx, websocket.TextMessage, []byte(fmt.Sprintf(`{"type":"join","room":"churn-%d","name":"p"}`, room))); err != nil {
			ws.CloseNow()
			return nil, err
		}
		var f sigReply
		for f.Type != "joined" {
			_, b, err := ws.Read(ctx)
			if err != nil {
				ws.CloseNow()
				return nil, err
			}
			f = sigReply{}
			_ = json.Unmarshal(b, &f)
		}
		p := &peer{ws: ws, tcp: tcp, id: f.ID}
		readers.Add(1)
		go func() { // read and discard, slowly: output queues up on the server
			defer readers.Done()
			for {
				if _, _, err := ws.Read(context.Background()); err != nil {
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
		return p, nil
	}
	for r := range rooms {
		for range size {
			p, err := join(r)
			if err != nil {
				t.Fatal(err)
			}
			members[r] = append(members[r], p)
		}
	}

	stop := make(chan struct{})
	var relays, resets atomic.Int64
	// Every peer relays to the others of its room as fast as the rate limit
	// allows.
	for r := range rooms {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				mu.Lock()
				ps := append([]*peer(nil), members[r]...)
				mu.Unlock()
				for _, from := range ps {
					to := ps[rand.IntN(len(ps))]
					if to == from {
						continue
					}
					ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
					if from.ws.Write(ctx, websocket.TextMessage, []byte(`{"type":"candidate","to":"`+to.id+`","candidate":{"pad":"`+padding+`"}}`)) == nil {
						relays.Add(1)
					}
					cancel()
				}
			}
		}()
	}
	// Churn: reset a random peer (RST: SO_LINGER 0) and replace it.
	workers.Add(1)
	go func() {
		defer workers.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			r := rand.IntN(rooms)
			mu.Lock()
			i := rand.IntN(len(members[r]))
			victim := members[r][i]
			members[r] = append(members[r][:i], members[r][i+1:]...)
			mu.Unlock()
			_ = victim.tcp.SetLinger(0)
			_ = victim.ws.CloseNow()
			resets.Add(1)
			if p, err := join(r); err == nil {
				mu.Lock()
				members[r] = append(members[r], p)
				mu.Unlock()
			}
		}
	}()

	// The server must keep answering a well-behaved client.
	deadline := time.Now().Add(dur)
	var stuck error
	probes := 0
	for time.Now().Before(deadline) && stuck == nil {
		if _, _, _, err := probe(s.addr); err != nil {
			stuck = err
		}
		probes++
		time.Sleep(200 * time.Millisecond)
	}
	close(stop)
	if stuck != nil {
		// Dump before the clean-up, which cannot finish against a stuck server.
		stacks := loopStacks(s.dump())
		t.Fatalf("the server stopped serving during signaling churn with resets: %v\n\nserver goroutines:\n%s", stuck, stacks)
	}
	workers.Wait()
	for _, ps := range members { // the workers are gone: members is ours
		for _, p := range ps {
			p.ws.CloseNow()
		}
	}
	readers.Wait()
	t.Logf("%d relays, %d peers reset and replaced, %d probes", relays.Load(), resets.Load(), probes)
	mustProbe(t, s, "after signaling churn with resets")
}

const padding = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// loopStacks keeps, from a goroutine dump, the goroutines blocked on a lock
// and those in the WebSocket event loops: where a deadlock shows.
func loopStacks(dump string) string {
	var out []string
	for _, g := range strings.Split(dump, "\n\n") {
		if strings.HasPrefix(g, "goroutine ") && (strings.Contains(g, "sync.Mutex.Lock") || strings.Contains(g, "(*loop).")) && len(out) < 12 {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}
