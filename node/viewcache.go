package node

import (
	"container/list"
	"sync"
)

// viewCache keeps recently decrypted plaintexts per (log index, authority), so
// listing, status derivation and feeds decrypt an entry once per authority.
// Bounded LRU; safe for concurrent use. Plaintexts live only in memory.
type viewCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recent; values are *viewItem
	items map[viewKey]*list.Element
}

type viewKey struct {
	index     uint64
	authority string
}

type viewItem struct {
	key   viewKey
	plain []byte
}

func newViewCache(max int) *viewCache {
	return &viewCache{max: max, order: list.New(), items: map[viewKey]*list.Element{}}
}

// get returns the cached plaintext; callers must not modify it.
func (c *viewCache) get(index uint64, authority string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[viewKey{index, authority}]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*viewItem).plain, true
}

func (c *viewCache) put(index uint64, authority string, plain []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := viewKey{index, authority}
	if el, ok := c.items[k]; ok {
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(&viewItem{key: k, plain: plain})
	for c.order.Len() > c.max {
		el := c.order.Back()
		c.order.Remove(el)
		delete(c.items, el.Value.(*viewItem).key)
	}
}

// forget drops every plaintext of authority (after its key is destroyed).
func (c *viewCache) forget(authority string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, el := range c.items {
		if k.authority == authority {
			c.order.Remove(el)
			delete(c.items, k)
		}
	}
}
