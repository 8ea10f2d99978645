// Package config loads the fault-tolerance keys of a pforge configuration
// (forge.yaml) and of a Fustor agent pipe file into the packages of this
// module: validated, merged per tool, built into a *middleware.Recovery, and
// reloadable while the program runs.
//
//	c, err := config.LoadFile("forge.yaml") // every problem at once, by key path
//	r, err := c.Build("fetch_user_data")    // global settings + the tool's overrides
//	v, err := middleware.Do(ctx, r, fetch)
//
// or, to pick up edits of the file:
//
//	reg, err := config.WatchFile("forge.yaml", 5*time.Second, config.Options{})
//	defer reg.Close()
//	v, err := config.Do(ctx, reg, "fetch_user_data", fetch)
//
// This is the only package of the module that imports a YAML library
// (go.yaml.in/yaml/v3); programs that do not import it do not depend on
// one.
//
// # Where settings come from
//
// A tool's settings are, from weakest to strongest: the defaults below, the
// fault_tolerance block, each "middleware: - type: recovery" entry in
// order, and the tool's own keys. They are merged field by field: a tool
// that sets only retry.max_delay keeps the global max_attempts. A section
// (circuit_breaker, retry, bulkhead, error_tracking, adaptive_limit,
// throttle, rate_limit, hedge) that is set nowhere is not used; a section that is present is used, with defaults for its
// missing keys, unless it says enabled: false, which turns it off for the
// block that says so (a tool opts out of a global breaker with
// circuit_breaker: {enabled: false}). timeout_ms: 0 turns an inherited
// timeout off. A key whose zero would silently mean "the default"
// (max_attempts: 0, timeout: 0s) is refused rather than taken as unset.
//
// [Config.Settings] returns a tool's merged settings as the packages take
// them, defaults filled in; [Config.Build] makes a new Recovery of them.
// The name "" means the global settings alone.
//
// # Keys of forge.yaml
//
// Durations are Go duration strings ("60s", "100ms", "1m30s"); the *_ms
// keys are whole milliseconds (10000), or a duration string. Numbers are
// bounded: no value can overflow the arithmetic of the packages.
//
//	key                              type      default  meaning
//	-------------------------------  --------  -------  ------------------------------------------------
//	forge.name, forge.version        string    ""       the server's name and version (informational)
//
//	fault_tolerance                  Policies           the settings every tool starts from
//	middleware[]                     list               middleware; only type: recovery is known,
//	middleware[].type                string    required   and its Policies are merged over fault_tolerance
//	tools[]                          list               the tools
//	tools[].name                     string    required unique; the name Build and Registry take
//	tools[].type, description,       string    ""       the tool itself: kept as read, not used here
//	  endpoint, method, command
//	tools[].args                     []string  none     (same)
//	tools[].handler.path             string    ""       (same)
//	tools[].fallback                 one or a list      fallbacks in order, each of type, handler,
//	                                                      endpoint, method: kept as read (see below)
//	tools[].steps[].tool             string    ""       a pipeline's steps (kept as read)
//	tools[].steps[].timeout_ms       millis    none     a step's limit within the pipeline's timeout_ms
//
// Policies: the keys that fault_tolerance, a recovery middleware and a tool
// may each hold.
//
//	key                              type      default  meaning (package field)
//	-------------------------------  --------  -------  ------------------------------------------------
//	timeout_ms                       millis    none     limit of each attempt (Recovery.Timeout); 0: none
//	total_timeout_ms                 millis    none     limit of a whole call, retries and waits
//	                                                      included (Recovery.Total); 0: none
//
//	circuit_breaker                  section   unused   a breaker (Recovery.Breaker)
//	  .enabled                       bool      true     false turns an inherited breaker off
//	  .failure_threshold             int       5        consecutive failures that open it; -1 turns
//	                                                      this rule off (for a rate rule alone)
//	  .timeout                       duration  60s      how long it stays open (OpenTimeout)
//	  .success_threshold             int       2        consecutive half-open successes that close it
//	  .window_size                   int       100      count window of the rate rules (WindowSize)
//	  .window_duration               duration  none     a time window instead (WindowDuration)
//	  .minimum_calls                 int       10       calls in the window before a rate rule trips
//	  .failure_rate_threshold        float     0 (off)  failure rate in [0, 1] that opens it
//	  .slow_call_duration            duration  none     calls this long or longer are slow
//	  .slow_call_rate_threshold      float     0 (off)  slow-call rate in [0, 1] that opens it
//	  .per_host                      bool      false    a Transport keeps one breaker per host
//	                                                      (Recovery.HostBreaker)
//
//	retry                            section   unused   retries (Recovery.Retry)
//	  .enabled                       bool      true     false turns an inherited retry off
//	  .max_attempts                  int       3        attempts, the first included; at most 1<<20
//	  .initial_delay                 duration  100ms    delay before the first retry
//	  .max_delay                     duration  5s       cap of every delay, at least initial_delay
//	  .multiplier                    float     2        factor of each further delay, at least 1
//	  .jitter                        bool or   true     true: full jitter; false: none; or a mode:
//	                                 mode                 full, none, equal, decorrelated, spread
//	  .max_retry_after               duration  1m       cap of an error's Retry-After hint
//	  .max_open_wait                 duration  0        how long a retry may wait for an open breaker
//	                                                      (0: an open breaker fails fast)
//	  .budget                        section   none     a retry budget shared by the tool's calls:
//	    .ratio                       float     0.1        retry tokens each call earns
//	    .min_per_second              float     10         retries allowed per second regardless
//	    .max_tokens                  float     100        cap of the tokens saved up
//
//	bulkhead                         section   unused   concurrency limit (Recovery.Bulkhead)
//	  .enabled                       bool      true     false turns an inherited bulkhead off
//	  .max_concurrent                int       10       calls that run at once
//	  .max_queued                    int       100      calls that may wait for a slot; 0: no queue
//	  .timeout                       duration  5s       how long a call may wait in the queue
//
//	error_tracking                   section   unused   an error tracker (Recovery.Tracker)
//	  .enabled                       bool      true     false turns inherited tracking off
//	  .max_errors                    int       1000     size of the ring buffer of recent errors
//	  .classify_by                   string    type     grouping; only type (errtrack.Classify)
//
//	adaptive_limit                   section   unused   an adaptive concurrency limit (Recovery.Limit)
//	  .enabled                       bool      true     false turns an inherited limit off
//	  .algorithm                     string    gradient2 one of gradient2, vegas, aimd
//	  .initial_limit                 int       20       the limit before any sample, within
//	                                                      [min_limit, max_limit]
//	  .min_limit                     int       1        floor of the limit; at most 16777215
//	  .max_limit                     int       1000     ceiling of the limit; at most 16777215
//	  .max_queued                    int       0        calls that may wait for a slot; 0: no queue
//	  .max_wait                      duration  1s       how long a call may wait in the queue;
//	                                                      negative: until its context ends
//	  .tolerance                     float     1.5      gradient2: short/long RTT ratio tolerated, >= 1
//	  .smoothing                     float     0.2      gradient2: weight of each new limit, in (0, 1]
//	  .window                        duration  100ms    least duration of a sample window; at most 1h
//	  .window_samples                int       10       least samples of a window
//	  .long_window                   int       600      gradient2: windows of the long-term RTT
//	  .probe_interval                duration  30s      gradient2, vegas: how often a window runs at
//	                                                      probe_limit; negative: no probes; at most 1h
//	  .probe_limit                   int       3        the limit during a probe
//	  .alpha, .beta                  float     3, 6     vegas: bounds of the estimated queue, alpha
//	                                                      below beta
//	  .backoff                       float     0.9      aimd: factor of the limit on a drop, in (0, 1)
//	  .per_host                      bool      false    a Transport keeps one limiter per host
//	                                                      (Recovery.HostLimit)
//
//	throttle                         section   unused   client-side throttling (Recovery.Throttle)
//	  .enabled                       bool      true     false turns an inherited throttle off
//	  .k                             float     2        requests sent per accepted one before
//	                                                      rejecting locally, in [1, 1e6]
//	  .window                        duration  2m       span of the history counted
//	  .buckets                       int       10       slices of the window, each at least 1ms;
//	                                                      at most 1000
//	  .max_rejection_rate            float     0.9      cap of the rejection probability, in (0, 1]
//	  .per_host                      bool      false    a Transport keeps one throttle per host
//	                                                      (Recovery.HostThrottle)
//
//	rate_limit                       section   unused   a token bucket per key (Recovery.RateLimit):
//	                                                      Do one, Transport per host, Handler per client
//	  .enabled                       bool      true     false turns an inherited rate limit off
//	  .rate                          float     10       events per second; at most 1e9
//	  .burst                         int       ⌈rate⌉   events at once after a quiet period; at
//	                                                      most 1<<30
//	  .max_wait                      duration  none     how long a call may wait for a token (none:
//	                                                      until its deadline)
//	  .max_keys                      int       10000    keys tracked, least recently used evicted;
//	                                                      at most 1<<24
//
//	hedge                            section   unused   hedged requests (Recovery.Hedge)
//	  .enabled                       bool      true     false turns inherited hedging off
//	  .delay                         duration  adaptive a fixed delay before each hedge
//	  .quantile                      float     0.95     the adaptive delay: this quantile of recent
//	                                                      latencies, in (0, 1)
//	  .min_delay                     duration  1ms      floor of the adaptive delay
//	  .max_delay                     duration  1s       cap of the adaptive delay, and the delay
//	                                                      while the estimate is cold
//	  .window                        int       1000     latencies in a window of the estimate; at
//	                                                      most 1<<20
//	  .max_hedges                    int       1        extra attempts a call may send; at most 16
//	  .retry_budget                  bool      false    hedges spend the retry.budget, which must be
//	                                                      set: retries and hedges together stay in it
//
// Fallbacks name handlers of the program, so they are read and kept
// ([Tool].Fallback) but not built: pass the matching fallback.Func values
// to middleware.Do. The hooks of the packages (OnLimitChange, OnReject,
// OnHedge) and their predicates (IsDrop, IsAccepted, Hedgeable) are code,
// not keys: they keep their packages' defaults.
//
// # Keys of an agent pipe file
//
// [LoadPipe] reads the Fustor agent-pipes-config keys into a [Pipe]. Times
// are numbers of seconds (30, 5.0, 0.5) or duration strings; each must be
// positive and at most a year.
//
//	key                       type     default  meaning
//	------------------------  -------  -------  --------------------------------------------------
//	id                        string   required the pipe
//	session_timeout_seconds   seconds  30       a session without heartbeat expires after this
//	heartbeat_interval_sec    seconds  10       heartbeat period; below session_timeout_seconds
//	audit_interval_sec        seconds  600      how often the leader audits
//	sentinel_interval_sec     seconds  120      how often the leader runs sentinel checks
//	error_retry_interval      seconds  5        delay after the first error
//	max_consecutive_errors    int      5        errors in a row before the pipe is degraded
//	backoff_multiplier        float    2        factor of each further delay, in [1, 100]
//	max_backoff_seconds       seconds  60       cap of the delay; at least error_retry_interval
//
// # Errors
//
// Load, LoadFile, LoadPipe, LoadPipeFile and Validate report every problem
// of a document in one [Errors], in document order, each a [FieldError]
// naming the key path and the rule:
//
//	tools[2].retry.max_attempts: must be at least 1, got 0
//	fault_tolerance.circuit_breaker: unknown key "failure_treshold" (did you mean "failure_threshold"?)
//
// Unknown keys are errors, so a typo cannot silently leave a breaker out.
// Values are checked by each package's own Validate, its field names
// translated into keys; rules that tie two keys together (max_delay at
// least initial_delay, minimum_calls at most window_size) are checked on
// the merged settings of each tool, where one of the keys may come from
// the global block. LoadFile's errors also name the file and line.
//
// # Reloading
//
// A [Registry] serves the current Recovery of every tool and replaces them
// all at once, atomically, on [Registry.Update], [Registry.Reload], or when
// [WatchFile]'s poller sees the file's contents change; an invalid new
// config is refused and the old one stays. Calls in flight finish on the
// Recovery they started with. What did not change is kept: a tool whose
// breaker settings are the same keeps the same *breaker.Breaker, state and
// all, and likewise its bulkhead, tracker, retry budget, adaptive limiter
// (its limit as learnt), throttle (its history), rate-limit group (its
// buckets) and hedge policy (its latency estimate; a new one when it
// spends a retry budget that is replaced). Close stops the
// poller. Recovery is one atomic load and a map lookup: no lock, no
// allocation.
package config
