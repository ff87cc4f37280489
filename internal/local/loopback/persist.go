package loopback

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/johannesboyne/gofakes3"
)

// savedObject is one record of SaveS3's stream; a record with an empty Key is a bucket.
type savedObject struct {
	Bucket, Key string
	Meta        map[string]string
	Data        []byte
}

// SaveS3 writes every bucket and object (key, metadata, bytes) to w, one gob record each, for
// a local stack that keeps its state across restarts. Object versions and upload sessions are
// not kept.
func (s *Stack) SaveS3(w io.Writer) error {
	enc := gob.NewEncoder(w)
	buckets, err := s.backend.ListBuckets()
	if err != nil {
		return err
	}
	for _, b := range buckets {
		if err := enc.Encode(savedObject{Bucket: b.Name}); err != nil {
			return err
		}
		page := gofakes3.ListBucketPage{}
		for {
			list, err := s.backend.ListBucket(b.Name, &gofakes3.Prefix{}, page)
			if err != nil {
				return fmt.Errorf("list s3://%s: %w", b.Name, err)
			}
			for _, c := range list.Contents {
				if err := s.saveObject(enc, b.Name, c.Key); err != nil {
					return err
				}
			}
			if !list.IsTruncated || list.NextMarker == "" {
				break
			}
			page = gofakes3.ListBucketPage{Marker: list.NextMarker, HasMarker: true}
		}
	}
	return nil
}

func (s *Stack) saveObject(enc *gob.Encoder, bucket, key string) error {
	obj, err := s.backend.GetObject(bucket, key, nil)
	if err != nil {
		return fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer obj.Contents.Close()
	data, err := io.ReadAll(obj.Contents)
	if err != nil {
		return fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	return enc.Encode(savedObject{Bucket: bucket, Key: key, Meta: obj.Metadata, Data: data})
}

// LoadS3 puts back what SaveS3 wrote: buckets are created, objects written over any of the
// same key.
func (s *Stack) LoadS3(r io.Reader) error {
	dec := gob.NewDecoder(r)
	for {
		var o savedObject
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("s3 state: %w", err)
		}
		if o.Key == "" {
			if err := s.CreateBucket(o.Bucket); err != nil {
				return err
			}
			continue
		}
		if _, err := s.backend.PutObject(o.Bucket, o.Key, o.Meta, bytes.NewReader(o.Data), int64(len(o.Data)), nil); err != nil {
			return fmt.Errorf("put s3://%s/%s: %w", o.Bucket, o.Key, err)
		}
	}
}

// savedSNS is what SaveSNS writes: the topics and their subscriptions. Published messages are
// not kept: what was sent before a restart was delivered then.
type savedSNS struct {
	Topics        []string
	Subscriptions []Subscription
}

// SaveSNS writes the SNS topics and subscriptions to w as JSON, for a local stack that keeps its
// state across restarts.
func (s *Stack) SaveSNS(w io.Writer) error {
	n := s.sns
	n.mu.Lock()
	st := savedSNS{Subscriptions: slices.Clone(n.subs)}
	for arn := range n.topics {
		st.Topics = append(st.Topics, arn)
	}
	n.mu.Unlock()
	slices.Sort(st.Topics)
	return json.NewEncoder(w).Encode(st)
}

// LoadSNS puts back what SaveSNS wrote: the topics, and the subscriptions (in their order, a
// pending one still pending) that the stack does not hold already.
func (s *Stack) LoadSNS(r io.Reader) error {
	var st savedSNS
	if err := json.NewDecoder(r).Decode(&st); err != nil {
		return fmt.Errorf("sns state: %w", err)
	}
	n := s.sns
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, arn := range st.Topics {
		n.topics[arn] = true
	}
	for _, sub := range st.Subscriptions {
		if !slices.ContainsFunc(n.subs, func(have Subscription) bool { return have.Arn == sub.Arn }) {
			n.subs = append(n.subs, sub)
		}
	}
	return nil
}
