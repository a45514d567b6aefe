package redisadapter

import (
	"context"
)

// publication is one message waiting for the publisher.
type publication struct {
	channel string
	payload []byte
}

// maxBatch bounds the publications sent in one pipeline.
const maxBatch = 256

// enqueue hands a message to the publisher without waiting. It reports false
// when the message is dropped: Redis is down, the queue is full, or the
// Cluster is shutting down. Local delivery never depends on it.
func (c *Cluster) enqueue(channel string, payload []byte) bool {
	if !c.Ready() {
		c.stats.dropped.Add(1)
		return false
	}
	c.qmu.RLock()
	defer c.qmu.RUnlock()
	if c.qclosed {
		c.stats.dropped.Add(1)
		return false
	}
	select {
	case c.pubq <- publication{channel, payload}:
		return true
	default:
		c.stats.dropped.Add(1)
		if !c.qfull.Swap(true) {
			c.log.Warn("redisadapter: publish queue full, dropping cross-node messages", "queue", cap(c.pubq))
		}
		return false
	}
}

// publish is the publisher goroutine: it sends the queued messages in
// order, as many per pipeline as are waiting (up to maxBatch). It ends when
// the queue is closed and drained, or at once when the Cluster is cancelled.
func (c *Cluster) publish() {
	defer close(c.pubDone)
	batch := make([]publication, 0, maxBatch)
	for {
		select {
		case p, ok := <-c.pubq:
			if !ok {
				return
			}
			batch = append(batch, p)
		case <-c.ctx.Done():
			return
		}
		open := true
	fill:
		for len(batch) < maxBatch {
			select {
			case p, ok := <-c.pubq:
				if !ok {
					open = false
					break fill
				}
				batch = append(batch, p)
			default:
				break fill
			}
		}
		c.send(batch)
		clear(batch)
		batch = batch[:0]
		if !open {
			return
		}
		if len(c.pubq) == 0 {
			c.qfull.Store(false)
		}
	}
}

func (c *Cluster) send(batch []publication) {
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.RequestsTimeout)
	defer cancel()
	var err error
	if len(batch) == 1 {
		err = c.rdb.Publish(ctx, batch[0].channel, batch[0].payload).Err()
	} else {
		pipe := c.rdb.Pipeline()
		for _, p := range batch {
			pipe.Publish(ctx, p.channel, p.payload)
		}
		_, err = pipe.Exec(ctx)
	}
	if err != nil {
		c.stats.dropped.Add(uint64(len(batch)))
		c.log.Debug("redisadapter: publish failed", "messages", len(batch), "err", err)
		return
	}
	c.stats.published.Add(uint64(len(batch)))
}
