package redisadapter

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/switchboard/switchboard/socketio"
)

// Options configure a Cluster. The zero value is valid: every zero field
// means the documented default, chosen to match @socket.io/redis-adapter.
type Options struct {
	// Key prefixes every channel. Default "socket.io" (the adapter's key).
	Key string
	// RequestsTimeout bounds the wait for other nodes' responses. Default
	// 5s (requestsTimeout).
	RequestsTimeout time.Duration
	// PublishOnSpecificResponseChannel sends responses to the requesting
	// node's own channel "K-response#N#<uid>#" instead of the shared one.
	// Every node of a cluster must agree. Default off.
	PublishOnSpecificResponseChannel bool
	// PublishQueue bounds the publications waiting for Redis. When it is
	// full, broadcasts still reach local sockets and the cross-node copy is
	// dropped (counted in Stats). Default 8192.
	PublishQueue int
	// MaxConcurrentRequests bounds the requests from other nodes that run
	// application code at the same time; more are dropped. Default 64.
	MaxConcurrentRequests int
	// HealthInterval is how often an idle subscription is pinged; a
	// connection that does not answer within another interval is replaced.
	// Default 5s.
	HealthInterval time.Duration
	// MinBackoff and MaxBackoff bound the delay between reconnection
	// attempts, doubled after each failure. Defaults 100ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives one line per change of Redis state, and diagnostics.
	// Default slog.Default().
	Logger *slog.Logger
}

func (o *Options) setDefaults() error {
	if o.RequestsTimeout < 0 || o.PublishQueue < 0 || o.MaxConcurrentRequests < 0 || o.HealthInterval < 0 || o.MinBackoff < 0 || o.MaxBackoff < 0 {
		return errors.New("redisadapter: negative value in Options")
	}
	if o.Key == "" {
		o.Key = "socket.io"
	}
	if o.RequestsTimeout == 0 {
		o.RequestsTimeout = 5 * time.Second
	}
	if o.PublishQueue == 0 {
		o.PublishQueue = 8192
	}
	if o.MaxConcurrentRequests == 0 {
		o.MaxConcurrentRequests = 64
	}
	if o.HealthInterval == 0 {
		o.HealthInterval = 5 * time.Second
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 5 * time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		return fmt.Errorf("redisadapter: MaxBackoff %v below MinBackoff %v", o.MaxBackoff, o.MinBackoff)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// ErrClosed is returned by operations on a Cluster after Shutdown.
var ErrClosed = errors.New("redisadapter: cluster closed")

// Cluster is this process's membership of a Socket.IO cluster: one Redis
// subscription shared by every namespace, one publisher, and the adapters of
// the namespaces. All methods are safe for concurrent use.
type Cluster struct {
	rdb  *redis.Client
	opts Options
	log  *slog.Logger
	uid  string // this node's id on the wire (uid2(6) in the Node.js adapter)

	ready    atomic.Bool
	lastDown atomic.Int64 // unix nanoseconds of the last change to not ready
	lastUp   atomic.Int64 // unix nanoseconds of the last change to ready
	stats    stats

	mu       sync.Mutex
	adapters map[string]*Adapter // by namespace name
	routes   map[string]route    // subscribed channel or pattern -> handler
	ps       *redis.PubSub       // current subscription, nil between connections
	started  bool
	closed   bool

	ctx     context.Context // cancelled when Shutdown gives up waiting
	cancel  context.CancelFunc
	qmu     sync.RWMutex // guards sends on pubq against its close
	qclosed bool
	qfull   atomic.Bool // logged once until the queue drains
	pubq    chan publication
	pubDone chan struct{}
	sem     chan struct{} // bounds concurrent request goroutines
	wg      sync.WaitGroup
}

// route is a subscribed channel or pattern and what handles its messages,
// on the subscriber goroutine.
type route struct {
	pattern bool
	handle  func(channel string, payload []byte)
}

type stats struct {
	published, dropped, received atomic.Uint64
}

// Stats are counters of the Cluster's traffic since New.
type Stats struct {
	Published uint64 // messages handed to Redis
	Dropped   uint64 // cross-node messages not sent: Redis down or queue full
	Received  uint64 // messages received from Redis
}

// New returns a Cluster that talks to Redis through rdb. It starts nothing;
// the first Adapter call starts the subscriber and the publisher. rdb stays
// the caller's: Shutdown does not close it.
func New(rdb *redis.Client, opts Options) (*Cluster, error) {
	if rdb == nil {
		return nil, errors.New("redisadapter: nil Redis client")
	}
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Cluster{
		rdb: rdb, opts: opts, log: opts.Logger, uid: newUID(),
		adapters: map[string]*Adapter{}, routes: map[string]route{},
		ctx: ctx, cancel: cancel, pubq: make(chan publication, opts.PublishQueue),
		pubDone: make(chan struct{}), sem: make(chan struct{}, opts.MaxConcurrentRequests),
	}, nil
}

// newUID returns 6 random URL-safe characters, like uid2(6).
func newUID() string {
	var b [6]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])[:6]
}

// UID is this node's id on the wire.
func (c *Cluster) UID() string { return c.uid }

// Ready reports whether the Redis subscription is up and confirmed, that is
// whether broadcasts from and to other nodes flow. Serve it on /readyz.
func (c *Cluster) Ready() bool { return c.ready.Load() }

// Stats returns the traffic counters.
func (c *Cluster) Stats() Stats {
	return Stats{Published: c.stats.published.Load(), Dropped: c.stats.dropped.Load(), Received: c.stats.received.Load()}
}

// setReady records a change of Redis state, logging once per change.
func (c *Cluster) setReady(up bool, err error) {
	if c.ready.Swap(up) == up {
		return
	}
	if up {
		c.lastUp.Store(time.Now().UnixNano())
	} else {
		c.lastDown.Store(time.Now().UnixNano())
	}
	if up {
		c.log.Info("redisadapter: connected to Redis, cross-node delivery on", "uid", c.uid)
	} else {
		c.log.Warn("redisadapter: Redis unavailable, serving local clients only", "uid", c.uid, "err", err)
	}
}

// Adapter creates the adapter of nsp; use it as socketio.Config.Adapter.
// After Shutdown it returns a plain socketio.MemoryAdapter.
func (c *Cluster) Adapter(nsp *socketio.Namespace) socketio.Adapter {
	a := newAdapter(c, nsp)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return a.MemoryAdapter
	}
	c.adapters[nsp.Name()] = a
	c.mu.Unlock()
	c.addRoutes(map[string]route{ // not waited for: see addRoutes
		a.channel + "*":           {pattern: true, handle: a.onBroadcast},
		a.requestChannel:          {handle: func(_ string, b []byte) { a.onRequest(b) }},
		a.responseChannel:         {handle: func(_ string, b []byte) { a.onResponse(b) }},
		a.specificResponseChannel: {handle: func(_ string, b []byte) { a.onResponse(b) }},
	})
	return a
}

// listen subscribes channel to handle, waits until it is subscribed
// (bounded by RequestsTimeout), then starts the given goroutines under the
// cluster's WaitGroup. It fails with ErrClosed after Shutdown.
func (c *Cluster) listen(channel string, handle func(channel string, msg []byte), workers ...func()) error {
	subscribed, ok := c.addRoutes(map[string]route{channel: {handle: handle}})
	if !ok {
		return ErrClosed
	}
	<-subscribed
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.wg.Add(len(workers))
	c.mu.Unlock()
	for _, w := range workers {
		go w()
	}
	return nil
}

// addRoutes subscribes channels and patterns, starting the subscriber and
// the publisher on first use. It reports false after Shutdown; otherwise
// subscribed is closed once the routes are subscribed on the current
// connection (at once when there is none: the next one subscribes them).
func (c *Cluster) addRoutes(routes map[string]route) (subscribed <-chan struct{}, ok bool) {
	done := make(chan struct{})
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, false
	}
	var chans, pats []string
	for name, r := range routes {
		c.routes[name] = r
		if r.pattern {
			pats = append(pats, name)
		} else {
			chans = append(chans, name)
		}
	}
	ps := c.ps
	if !c.started {
		c.started = true
		c.wg.Add(1)
		go c.subscribe()
		go c.publish()
	}
	if ps != nil {
		// The subscriber subscribes everything in routes on each new
		// connection; this covers the connection that is already up. It
		// runs apart: Adapter is called under the socketio.Server's lock,
		// which must not wait for Redis.
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer close(done)
			ctx, cancel := context.WithTimeout(c.ctx, c.opts.RequestsTimeout)
			defer cancel()
			if len(pats) > 0 {
				_ = ps.PSubscribe(ctx, pats...)
			}
			if len(chans) > 0 {
				_ = ps.Subscribe(ctx, chans...)
			}
		}()
	} else {
		close(done)
	}
	c.mu.Unlock()
	return done, true
}

// removeAdapter forgets a's channels when its namespace closes.
func (c *Cluster) removeAdapter(a *Adapter) {
	c.mu.Lock()
	if c.adapters[a.nsp.Name()] != a {
		c.mu.Unlock()
		return
	}
	delete(c.adapters, a.nsp.Name())
	for _, ch := range []string{a.channel + "*", a.requestChannel, a.responseChannel, a.specificResponseChannel} {
		delete(c.routes, ch)
	}
	ps := c.ps
	c.mu.Unlock()
	if ps != nil && c.Ready() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = ps.PUnsubscribe(ctx, a.channel+"*")
		_ = ps.Unsubscribe(ctx, a.requestChannel, a.responseChannel, a.specificResponseChannel)
	}
}

// Shutdown stops the Cluster: it waits until the queued publications are
// sent (or ctx ends), closes the subscription and waits for its goroutines.
// Close the socketio.Server first, so that nothing publishes any more.
func (c *Cluster) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	started := c.started
	c.mu.Unlock()
	if !started {
		c.cancel()
		return nil
	}
	var err error
	c.qmu.Lock()
	c.qclosed = true
	close(c.pubq) // the publisher drains what is queued, then exits
	c.qmu.Unlock()
	select {
	case <-c.pubDone:
	case <-ctx.Done():
		err = fmt.Errorf("redisadapter: shutdown: %w", ctx.Err())
	}
	c.cancel() // the publisher abandons the rest; the subscriber stops
	c.mu.Lock()
	if c.ps != nil {
		_ = c.ps.Close()
	}
	c.mu.Unlock()
	<-c.pubDone
	c.wg.Wait()
	c.ready.Store(false) // not a Redis failure: no warning
	c.log.Debug("redisadapter: cluster shut down", "uid", c.uid)
	return err
}

// Close is Shutdown without a deadline for the queued publications beyond
// RequestsTimeout.
func (c *Cluster) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.RequestsTimeout)
	defer cancel()
	return c.Shutdown(ctx)
}

// goRequest runs f on a goroutine if fewer than MaxConcurrentRequests are
// running; otherwise it drops the request and says so.
func (c *Cluster) goRequest(what string, f func()) {
	select {
	case c.sem <- struct{}{}:
	default:
		c.log.Warn("redisadapter: too many concurrent requests from other nodes, dropping one", "type", what)
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.sem
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer func() { <-c.sem; c.wg.Done() }()
		f()
	}()
}
