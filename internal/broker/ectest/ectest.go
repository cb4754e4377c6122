// Package ectest is a local stand-in for the ElastiCache Query API, for
// tests: no AWS endpoint can be reached from the machines the tests run
// on, so the real SDK client is pointed at it with its endpoint override
// (a broker plan's aws_endpoint).
package ectest

import (
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// StandIn keeps replication groups in memory, moves them from creating
// (or modifying) to available and from deleting to gone over successive
// Describe calls, and records every request for the test to assert on.
type StandIn struct {
	// URL is the endpoint to give the SDK.
	URL string
	// Primary, when set, is the host:port every group reports as its
	// primary endpoint (a local TLS front); else a made-up AWS name.
	Primary string
	srv     *httptest.Server

	mu       sync.Mutex
	requests []url.Values
	groups   map[string]*standInGroup
	pgroups  map[string]bool
	// describesUntilReady: Describe calls that still say "creating" (or
	// "deleting", "modifying").
	describesUntilReady int
	// snapshots by replication group ID.
	snapshots map[string][]snapshot
	// failNext: action -> error code its next call answers with.
	failNext map[string]string
}

type standInGroup struct {
	id, arn, status, nodeType string
	tags                      map[string]string
	describes                 int
}

type snapshot struct{ name, created string }

// Start runs a stand-in until the test ends.
func Start(tb testing.TB) *StandIn {
	s := &StandIn{groups: map[string]*standInGroup{}, pgroups: map[string]bool{},
		snapshots: map[string][]snapshot{}, failNext: map[string]string{}, describesUntilReady: 1}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	tb.Cleanup(s.srv.Close)
	return s
}

// Calls returns the recorded requests of one action.
func (s *StandIn) Calls(action string) []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []url.Values
	for _, r := range s.requests {
		if r.Get("Action") == action {
			out = append(out, r)
		}
	}
	return out
}

// Requests returns every recorded request.
func (s *StandIn) Requests() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.requests...)
}

// FailNext makes the next call of action fail with the API error code.
func (s *StandIn) FailNext(action, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext[action] = code
}

// SetTag changes a tag of an existing group.
func (s *StandIn) SetTag(group, key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.groups[group]; ok {
		g.tags[key] = value
	}
}

// AddSnapshot gives a group a snapshot (created: RFC 3339).
func (s *StandIn) AddSnapshot(group, name, created string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snapshots[group] = append(s.snapshots[group], snapshot{name, created})
}

func (s *StandIn) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		http.Error(w, "want a form POST", http.StatusBadRequest)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		s.fault(w, 403, "MissingAuthenticationToken", "request is not signed")
		return
	}
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, f)
	action := f.Get("Action")
	id := f.Get("ReplicationGroupId")
	if code, ok := s.failNext[action]; ok {
		delete(s.failNext, action)
		s.fault(w, 400, code, "the stand-in was told to fail")
		return
	}
	switch action {
	case "CreateReplicationGroup":
		if _, ok := s.groups[id]; ok {
			s.fault(w, 400, "ReplicationGroupAlreadyExists", "already exists")
			return
		}
		g := &standInGroup{id: id, arn: "arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:" + id,
			status: "creating", nodeType: f.Get("CacheNodeType"), tags: map[string]string{}}
		for i := 1; f.Get(fmt.Sprintf("Tags.Tag.%d.Key", i)) != ""; i++ {
			g.tags[f.Get(fmt.Sprintf("Tags.Tag.%d.Key", i))] = f.Get(fmt.Sprintf("Tags.Tag.%d.Value", i))
		}
		s.groups[id] = g
		s.reply(w, action, s.groupXML(g))
	case "DescribeReplicationGroups":
		g, ok := s.groups[id]
		if !ok {
			s.fault(w, 404, "ReplicationGroupNotFoundFault", "not found")
			return
		}
		g.describes++
		if g.describes > s.describesUntilReady {
			switch g.status {
			case "creating", "modifying":
				g.status = "available"
			case "deleting":
				delete(s.groups, id)
				s.fault(w, 404, "ReplicationGroupNotFoundFault", "not found")
				return
			}
		}
		s.reply(w, action, "<ReplicationGroups>"+s.groupXML(g)+"</ReplicationGroups>")
	case "ModifyReplicationGroup", "IncreaseReplicaCount", "DecreaseReplicaCount", "DeleteReplicationGroup":
		g, ok := s.groups[id]
		if !ok {
			s.fault(w, 404, "ReplicationGroupNotFoundFault", "not found")
			return
		}
		if g.status != "available" {
			s.fault(w, 400, "InvalidReplicationGroupState", "group is "+g.status)
			return
		}
		g.status, g.describes = "modifying", 0
		if action == "DeleteReplicationGroup" {
			g.status = "deleting"
		}
		if nt := f.Get("CacheNodeType"); nt != "" {
			g.nodeType = nt
		}
		s.reply(w, action, s.groupXML(g))
	case "ListTagsForResource":
		var b strings.Builder
		for _, g := range s.groups {
			if g.arn == f.Get("ResourceName") {
				for k, v := range g.tags {
					fmt.Fprintf(&b, "<Tag><Key>%s</Key><Value>%s</Value></Tag>", html.EscapeString(k), html.EscapeString(v))
				}
			}
		}
		s.reply(w, action, "<TagList>"+b.String()+"</TagList>")
	case "DescribeSnapshots":
		var b strings.Builder
		for _, sn := range s.snapshots[id] {
			fmt.Fprintf(&b, "<Snapshot><SnapshotName>%s</SnapshotName><ReplicationGroupId>%s</ReplicationGroupId>"+
				"<NodeSnapshots><NodeSnapshot><SnapshotCreateTime>%s</SnapshotCreateTime></NodeSnapshot></NodeSnapshots></Snapshot>",
				sn.name, id, sn.created)
		}
		s.reply(w, action, "<Snapshots>"+b.String()+"</Snapshots>")
	case "CreateCacheParameterGroup":
		name := f.Get("CacheParameterGroupName")
		if s.pgroups[name] {
			s.fault(w, 400, "CacheParameterGroupAlreadyExists", "exists")
			return
		}
		s.pgroups[name] = true
		s.reply(w, action, "<CacheParameterGroup><CacheParameterGroupName>"+name+"</CacheParameterGroupName></CacheParameterGroup>")
	case "ModifyCacheParameterGroup":
		s.reply(w, action, "<CacheParameterGroupName>"+f.Get("CacheParameterGroupName")+"</CacheParameterGroupName>")
	case "DeleteCacheParameterGroup":
		delete(s.pgroups, f.Get("CacheParameterGroupName"))
		fmt.Fprintf(w, `<DeleteCacheParameterGroupResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteCacheParameterGroupResponse>`)
	default:
		s.fault(w, 400, "InvalidAction", "the stand-in does not know "+action)
	}
}

func (s *StandIn) groupXML(g *standInGroup) string {
	host, port := "master."+g.id+".abc123.euw1.cache.amazonaws.com", "6379"
	if s.Primary != "" {
		host, port, _ = net.SplitHostPort(s.Primary)
	}
	return fmt.Sprintf("<ReplicationGroup><ReplicationGroupId>%s</ReplicationGroupId><ARN>%s</ARN><Status>%s</Status>"+
		"<CacheNodeType>%s</CacheNodeType><NodeGroups><NodeGroup><NodeGroupId>0001</NodeGroupId>"+
		"<PrimaryEndpoint><Address>%s</Address><Port>%s</Port></PrimaryEndpoint>"+
		"</NodeGroup></NodeGroups></ReplicationGroup>", g.id, g.arn, g.status, g.nodeType, host, port)
}

func (s *StandIn) reply(w http.ResponseWriter, action, inner string) {
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%sResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/"><%sResult>%s</%sResult>`+
		`<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></%sResponse>`, action, action, inner, action, action)
}

func (s *StandIn) fault(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/"><Error><Type>Sender</Type>`+
		`<Code>%s</Code><Message>%s</Message></Error><RequestId>r</RequestId></ErrorResponse>`, code, html.EscapeString(msg))
}
