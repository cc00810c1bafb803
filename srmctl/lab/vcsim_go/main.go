// Command vcsim is srmctl's build of govmomi's vCenter simulator.
//
// The Go module proxy serves govmomi without its nested vcsim command module, so the project builds
// this small wrapper around govmomi's simulator package instead. It keeps
// vcsim's flag names and its readiness line ("export GOVC_URL=... GOVC_SIM_PID=..."), and adds one
// thing the stock binary lacks: a loopback-only control endpoint for SOAP fault injection
// (govmomi's FaultInjectionRule is a Go API only), so tests can make vCenter calls fail on demand.
package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"

	// The vAPI simulator (tags, sessions on /rest) registers itself on import, as in stock vcsim.
	_ "github.com/vmware/govmomi/vapi/simulator"
)

// faultRequest is the JSON body of POST /srmctl/faults.
type faultRequest struct {
	Method      string `json:"method"`      // SOAP method name, e.g. "PowerOnVM_Task", or "*"
	ObjectType  string `json:"object_type"` // e.g. "VirtualMachine", default "*"
	ObjectName  string `json:"object_name"` // default "*"
	Fault       string `json:"fault"`       // a key of soapFaults
	Count       int    `json:"count"`       // how many calls fail (0 = unlimited)
	Skip        int    `json:"skip"`        // calls to let through first
	DelayMillis int    `json:"delay_ms"`    // delay before the fault
	Message     string `json:"message"`
}

// SOAP faults by name, as concrete vim types so that clients can decode them (govmomi's generic
// fault types serialise under names pyvmomi does not know).
var soapFaults = map[string]func(msg string) types.BaseMethodFault{
	"system_error":       func(msg string) types.BaseMethodFault { return &types.SystemError{Reason: msg} },
	"host_communication": func(string) types.BaseMethodFault { return &types.HostCommunication{} },
	"not_authenticated":  func(string) types.BaseMethodFault { return &types.NotAuthenticated{} },
	"no_permission":      func(string) types.BaseMethodFault { return &types.NoPermission{} },
	"invalid_state":      func(string) types.BaseMethodFault { return &types.InvalidState{} },
}

func main() {
	listen := flag.String("l", "127.0.0.1:8989", "listen address (port 0 picks a free port)")
	username := flag.String("username", "", "login user name")
	password := flag.String("password", "", "login password")
	tlsCert := flag.String("tlscert", "", "TLS certificate file (PEM)")
	tlsKey := flag.String("tlskey", "", "TLS key file (PEM)")
	apiVersion := flag.String("api-version", "8.0.3.0", "about.apiVersion")
	dc := flag.Int("dc", 1, "datacenters")
	cluster := flag.Int("cluster", 1, "clusters per datacenter")
	host := flag.Int("host", 3, "hosts per cluster")
	standalone := flag.Int("standalone-host", 0, "standalone hosts per datacenter")
	vms := flag.Int("vm", 0, "model VMs per resource pool")
	ds := flag.Int("ds", 1, "local datastores")
	pg := flag.Int("pg", 1, "distributed port groups")
	stdinExit := flag.Bool("stdinexit", false, "exit when stdin reaches EOF or a byte arrives")
	flag.Parse()

	model := simulator.VPX()
	model.ServiceContent.About.ApiVersion = *apiVersion
	model.ServiceContent.About.Version = *apiVersion
	// Stock vcsim derives about.instanceUuid from the machine's node id, so two sites on one machine
	// would share it; SRM and VR key vCenters by this uuid, so each process gets its own.
	model.ServiceContent.About.InstanceUuid = uuid.New().String()
	model.Datacenter = *dc
	model.Cluster = *cluster
	model.ClusterHost = *host
	model.Host = *standalone
	model.Machine = *vms
	model.Datastore = *ds
	model.Portgroup = *pg
	model.Autostart = true

	if err := model.Create(); err != nil {
		log.Fatal(err)
	}

	u := &url.URL{Host: *listen}
	if *username != "" || *password != "" {
		u.User = url.UserPassword(secret(*username), secret(*password))
	}
	model.Service.Listen = u
	cfg := new(tls.Config)
	if *tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			log.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	model.Service.TLS = cfg

	service := model.Service
	service.HandleFunc("/srmctl/faults", func(w http.ResponseWriter, r *http.Request) {
		handleFaults(service, w, r)
	})
	server := service.NewServer()

	// The readiness line goes to a log file: it names the user but never the password (stock vcsim
	// prints both in GOVC_URL), so the password stays in its 0600 file only.
	public := *server.URL
	if public.User != nil {
		public.User = url.User(public.User.Username())
	}
	fmt.Printf("export GOVC_URL=%s GOVC_SIM_PID=%d\n", public.String(), os.Getpid())
	os.Stdout.Sync()

	done := make(chan os.Signal, 1)
	signal.Notify(done, syscall.SIGINT, syscall.SIGTERM)
	if *stdinExit {
		go func() {
			_, _ = bufio.NewReader(os.Stdin).ReadByte()
			done <- syscall.SIGTERM
		}()
	}
	<-done
	server.Close()
	model.Remove()
}

// secret mirrors vcsim: a value naming a readable file is replaced by that file's contents.
func secret(value string) string {
	if b, err := os.ReadFile(value); err == nil {
		return strings.TrimSpace(string(b))
	}
	return value
}

func handleFaults(s *simulator.Service, w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.GetFaultStats())
	case http.MethodDelete:
		s.ClearFaultRules()
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPost:
		var req faultRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		name := orDefault(req.Fault, "system_error")
		message := orDefault(req.Message, "injected by srmctl test")
		rule := &simulator.FaultInjectionRule{
			MethodName:  orDefault(req.Method, "*"),
			ObjectType:  orDefault(req.ObjectType, "*"),
			ObjectName:  orDefault(req.ObjectName, "*"),
			Probability: 1.0,
			Message:     message,
			Delay:       req.DelayMillis,
			MaxCount:    req.Count,
			SkipCount:   req.Skip,
			Enabled:     true,
		}
		if make, ok := soapFaults[name]; ok {
			rule.FaultType = simulator.FaultTypeCustom
			rule.Fault = make(message)
		} else {
			http.Error(w, "unknown fault kind "+name, http.StatusBadRequest)
			return
		}
		s.AddFaultRule(rule)
		w.WriteHeader(http.StatusCreated)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
