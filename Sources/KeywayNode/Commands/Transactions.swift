/// MULTI EXEC DISCARD WATCH UNWATCH (to be implemented).
func registerTransactionCommands(_ handlers: inout CommandHandlers) {}
