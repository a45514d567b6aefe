package socketio

import "sync"

// ParentNamespace creates child namespaces on demand (socket.io's dynamic
// namespaces). Middleware and handlers registered on it apply to every child.
type ParentNamespace struct {
	*registry
	srv   *Server
	match NamespaceMatcher

	mu       sync.Mutex
	children map[string]*Namespace
}

func (p *ParentNamespace) addChild(n *Namespace) {
	p.mu.Lock()
	p.children[n.name] = n
	p.mu.Unlock()
}

// Children returns the namespaces created through p.
func (p *ParentNamespace) Children() []*Namespace {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*Namespace, 0, len(p.children))
	for _, n := range p.children {
		out = append(out, n)
	}
	return out
}

// Emit sends an event to every socket of every child namespace.
func (p *ParentNamespace) Emit(event string, args ...any) error {
	var first error
	for _, n := range p.Children() {
		if err := n.Emit(event, args...); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// To returns an operator over the sockets in rooms of every child namespace.
func (p *ParentNamespace) To(rooms ...string) ParentOperator {
	return ParentOperator{p: p, b: BroadcastOperator{}.To(rooms...)}
}

// Except returns an operator over every child namespace that skips rooms.
func (p *ParentNamespace) Except(rooms ...string) ParentOperator {
	return ParentOperator{p: p, b: BroadcastOperator{}.Except(rooms...)}
}

// ParentOperator is a BroadcastOperator applied to each child of a
// ParentNamespace (socket.io's parentNamespace.to(room).emit).
type ParentOperator struct {
	p *ParentNamespace
	b BroadcastOperator
}

// To adds rooms to the target set.
func (o ParentOperator) To(rooms ...string) ParentOperator { o.b = o.b.To(rooms...); return o }

// Except excludes the sockets in rooms.
func (o ParentOperator) Except(rooms ...string) ParentOperator { o.b = o.b.Except(rooms...); return o }

// Local limits the operation to this node.
func (o ParentOperator) Local() ParentOperator { o.b = o.b.Local(); return o }

// Volatile lets the transport drop the packet.
func (o ParentOperator) Volatile() ParentOperator { o.b = o.b.Volatile(); return o }

// Emit sends an event to the selected sockets of every child namespace.
func (o ParentOperator) Emit(event string, args ...any) error {
	var first error
	for _, n := range o.p.Children() {
		b := o.b
		b.nsp = n
		if err := b.Emit(event, args...); err != nil && first == nil {
			first = err
		}
	}
	return first
}
