/// CLUSTER subcommands, ASKING, READONLY, READWRITE, MIGRATE (to be implemented).
func registerClusterCommands(_ handlers: inout CommandHandlers) {}
