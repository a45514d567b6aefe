package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// subscribe is the subscriber goroutine. It runs one subscription
// connection at a time; when one fails it reports not-ready, waits with
// exponential backoff (reset by every connection that became ready) and
// opens the next, which subscribes every route again.
func (c *Cluster) subscribe() {
	defer c.wg.Done()
	backoff := c.opts.MinBackoff
	for c.ctx.Err() == nil {
		wasReady, err := c.session()
		if c.ctx.Err() != nil {
			c.ready.Store(false)
			return
		}
		c.setReady(false, err)
		if wasReady {
			backoff = c.opts.MinBackoff
		}
		// ±20% jitter so that nodes cut off together do not return in step.
		d := time.Duration(float64(backoff) * (0.8 + 0.4*rand.Float64()))
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return
		}
		backoff = min(2*backoff, c.opts.MaxBackoff)
	}
}

// session runs one subscription connection until it fails. It reports
// whether the connection became ready before failing.
func (c *Cluster) session() (ready bool, err error) {
	ps := c.rdb.Subscribe(c.ctx) // no channels: nothing is sent yet
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		ps.Close()
		return false, ErrClosed
	}
	c.ps = ps
	var chans, pats []string
	for name, r := range c.routes {
		if r.pattern {
			pats = append(pats, name)
		} else {
			chans = append(chans, name)
		}
	}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.ps == ps {
			c.ps = nil
		}
		c.mu.Unlock()
		ps.Close()
	}()

	ctx, cancel := context.WithTimeout(c.ctx, c.opts.RequestsTimeout)
	if len(pats) > 0 {
		err = ps.PSubscribe(ctx, pats...)
	}
	if err == nil && len(chans) > 0 {
		err = ps.Subscribe(ctx, chans...)
	}
	cancel()
	if err != nil {
		return false, fmt.Errorf("subscribe: %w", err)
	}
	want, got := len(chans)+len(pats), 0
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(c.ctx, c.opts.HealthInterval)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if pinged {
					return ready, fmt.Errorf("no answer to PING within %v", c.opts.HealthInterval)
				}
				if err := ps.Ping(c.ctx); err != nil {
					return ready, fmt.Errorf("ping: %w", err)
				}
				pinged = true
				continue
			}
			return ready, err
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" || m.Kind == "psubscribe" {
				got++
				if !ready && got >= want {
					ready = true
					c.setReady(true, nil)
				}
			}
		case *redis.Message:
			c.dispatch(m)
		}
	}
}

// dispatch hands a message to the adapter that subscribed its channel or
// pattern. It runs on the subscriber goroutine: broadcasts are delivered in
// the order they were published.
func (c *Cluster) dispatch(m *redis.Message) {
	c.stats.received.Add(1)
	key := m.Channel
	if m.Pattern != "" {
		key = m.Pattern
	}
	c.mu.Lock()
	r, ok := c.routes[key]
	c.mu.Unlock()
	if !ok {
		return
	}
	r.handle(m.Channel, []byte(m.Payload))
}
