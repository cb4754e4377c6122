package proxy

// Replies redoubt writes itself. Texts follow redis-server's where a
// Redis client may match on them.
var (
	replyOK          = []byte("+OK\r\n")
	replyNoAuth      = []byte("-NOAUTH Authentication required.\r\n")
	replyWrongPass   = []byte("-WRONGPASS invalid username-password pair or user is disabled.\r\n")
	replyHelloNoAuth = []byte("-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n")
	replyAuthArity   = []byte("-ERR wrong number of arguments for 'auth' command\r\n")
	replyNoProto     = []byte("-NOPROTO unsupported protocol version\r\n")
	replyUnavailable = []byte("-ERR upstream unavailable\r\n")
	replyMaxClients  = []byte("-ERR max number of clients reached\r\n")
	replyTenantLimit = []byte("-ERR max number of connections for this tenant reached\r\n")
	replyAuthTimeout = []byte("-ERR authentication timeout\r\n")
	replyExecAbort   = []byte("-EXECABORT Transaction discarded because of previous errors.\r\n")
)
