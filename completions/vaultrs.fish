# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_vaultrs_global_optspecs
    string join \n address= ca-cert= ca-path= tls-skip-verify namespace= wrap-ttl= format= non-interactive h/help V/version
end

function __fish_vaultrs_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_vaultrs_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_vaultrs_using_subcommand
    set -l cmd (__fish_vaultrs_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c vaultrs -n "__fish_vaultrs_needs_command" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_needs_command" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_needs_command" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_needs_command" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_needs_command" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_needs_command" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_needs_command" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -s V -l version -d 'Print version'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "server" -d 'Start a server (a dev server with -dev)'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "read" -d 'Read data from a path and print it'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "write" -d 'Write data to a path'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "delete" -d 'Delete the data at a path'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "list" -d 'List the keys under a path'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "patch" -d 'Merge data into what is stored at a path (a JSON merge patch)'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "kv" -d 'Work with the key/value secrets engine, version 1 or 2'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "secrets" -d 'Enable, disable, list, tune and move secrets engines'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "auth" -d 'Enable, disable, list, tune and move auth methods'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "login" -d 'Authenticate and store the token in ~/.vault-token'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "token" -d 'Create, look up, renew and revoke tokens'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "policy" -d 'Write, read, list, delete and format ACL policies'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "audit" -d 'Enable, disable and list audit devices'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "lease" -d 'Look up, renew and revoke leases'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "operator" -d 'Initialize, unseal, seal and rotate the server, and generate root tokens'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "status" -d 'Print the seal status of the server. Exits 2 when it is sealed'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "unwrap" -d 'Unwrap a response-wrapping token and print what it wraps'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "version" -d 'Print the version of vaultrs'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "completions" -d 'Print a shell completion script to standard output'
complete -c vaultrs -n "__fish_vaultrs_needs_command" -f -a "generate" -d 'Write the committed completions and man pages (for maintainers)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand server" -l config -d 'Path to a configuration file or directory. Repeat to merge several' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand server" -l dev-root-token-id -d 'The ID of the dev server\'s initial root token' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand server" -l dev-listen-address -d 'The address the dev server listens on (default 127.0.0.1:8200)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand server" -l dev-data-dir -d 'Keep the dev server\'s data in this directory instead of in memory' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand server" -l log-level -d 'Log level: trace, debug, info, warn or error' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand server" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand server" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand server" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand server" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand server" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand server" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand server" -l dev -d 'Run a development server: in memory, initialized, unsealed, with a root token'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand server" -l dev-no-store-token -d 'Do not write the dev server\'s root token to ~/.vault-token'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand server" -l dev-allow-remote -d 'Allow the dev server to listen on an address other than loopback'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand server" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand server" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand server" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand read" -l field -d 'Print only this field of the response' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand read" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand read" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand read" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand read" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand read" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand read" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand read" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand read" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand read" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand write" -l field -d 'Print only this field of the response' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand write" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand write" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand write" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand write" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand write" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand write" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand write" -s f -l force -d 'Send the request with no data, and answer yes to any confirmation'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand write" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand write" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand write" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand delete" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand delete" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand delete" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand delete" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand delete" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand delete" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand delete" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand delete" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand list" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand list" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand list" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand list" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand list" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand list" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand list" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand list" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand patch" -l field -d 'Print only this field of the response' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand patch" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand patch" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand patch" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand patch" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand patch" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand patch" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand patch" -s f -l force -d 'Send the request with no data, and answer yes to any confirmation'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand patch" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand patch" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand patch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and not __fish_seen_subcommand_from get put patch delete undelete destroy list rollback metadata" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and not __fish_seen_subcommand_from get put patch delete undelete destroy list rollback metadata" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and not __fish_seen_subcommand_from get put patch delete undelete destroy list rollback metadata" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and not __fish_seen_subcommand_from get put patch delete undelete destroy list rollback metadata" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and not __fish_seen_subcommand_from get put patch delete undelete destroy list rollback metadata" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and not __fish_seen_subcommand_from get put patch delete undelete destroy list rollback metadata" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and not __fish_seen_subcommand_from get put patch delete undelete destroy list rollback metadata" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and not __fish_seen_subcommand_from get put patch delete undelete destroy list rollback metadata" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and not __fish_seen_subcommand_from get put patch delete undelete destroy list rollback metadata" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and not __fish_seen_subcommand_from get put patch delete undelete destroy list rollback metadata" -f -a "get" -d 'Read a secret (the latest version, or the one given with -version)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and not __fish_seen_subcommand_from get put patch delete undelete destroy list rollback metadata" -f -a "put" -d 'Write a secret, replacing its data (a new version on KV version 2)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and not __fish_seen_subcommand_from get put patch delete undelete destroy list rollback metadata" -f -a "patch" -d 'Merge data into the latest version of a secret (KV version 2)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and not __fish_seen_subcommand_from get put patch delete undelete destroy list rollback metadata" -f -a "delete" -d 'Delete the latest version of a secret, or the versions given (a soft delete on version 2: undelete brings them back)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and not __fish_seen_subcommand_from get put patch delete undelete destroy list rollback metadata" -f -a "undelete" -d 'Restore soft-deleted versions of a secret (KV version 2)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and not __fish_seen_subcommand_from get put patch delete undelete destroy list rollback metadata" -f -a "destroy" -d 'Permanently remove versions of a secret (KV version 2)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and not __fish_seen_subcommand_from get put patch delete undelete destroy list rollback metadata" -f -a "list" -d 'List the secrets under a path'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and not __fish_seen_subcommand_from get put patch delete undelete destroy list rollback metadata" -f -a "rollback" -d 'Write an older version\'s data as the newest version (KV version 2)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and not __fish_seen_subcommand_from get put patch delete undelete destroy list rollback metadata" -f -a "metadata" -d 'Read and change a secret\'s metadata (KV version 2)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from get" -l version -d 'The version to read (KV version 2)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from get" -l field -d 'Print only this field of the secret\'s data' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from get" -l mount -d 'The path where the KV engine is mounted. With it, KEY is the path inside the mount; without it, KEY starts with the mount path (secret/foo)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from get" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from get" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from get" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from get" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from get" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from get" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from get" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from get" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from put" -l cas -d 'Write only if the current version is N (0: only if the secret does not exist)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from put" -l field -d 'Print only this field of the response' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from put" -l mount -d 'The path where the KV engine is mounted. With it, KEY is the path inside the mount; without it, KEY starts with the mount path (secret/foo)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from put" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from put" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from put" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from put" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from put" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from put" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from put" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from put" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from put" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from patch" -l cas -d 'Patch only if the current version is N' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from patch" -l method -d 'How to patch: "patch" sends a JSON merge patch; "rw" reads, merges and writes' -r -f -a "patch\t''
rw\t''"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from patch" -l field -d 'Print only this field of the response' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from patch" -l mount -d 'The path where the KV engine is mounted. With it, KEY is the path inside the mount; without it, KEY starts with the mount path (secret/foo)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from patch" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from patch" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from patch" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from patch" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from patch" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from patch" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from patch" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from patch" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from patch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from delete" -l versions -d 'Comma-separated versions to delete (KV version 2)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from delete" -l mount -d 'The path where the KV engine is mounted. With it, KEY is the path inside the mount; without it, KEY starts with the mount path (secret/foo)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from delete" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from delete" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from delete" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from delete" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from delete" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from delete" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from delete" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from delete" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from undelete" -l versions -d 'Comma-separated versions to restore' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from undelete" -l mount -d 'The path where the KV engine is mounted. With it, KEY is the path inside the mount; without it, KEY starts with the mount path (secret/foo)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from undelete" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from undelete" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from undelete" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from undelete" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from undelete" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from undelete" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from undelete" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from undelete" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from undelete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from destroy" -l versions -d 'Comma-separated versions to destroy' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from destroy" -l mount -d 'The path where the KV engine is mounted. With it, KEY is the path inside the mount; without it, KEY starts with the mount path (secret/foo)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from destroy" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from destroy" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from destroy" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from destroy" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from destroy" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from destroy" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from destroy" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from destroy" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from destroy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from list" -l mount -d 'The path where the KV engine is mounted. With it, KEY is the path inside the mount; without it, KEY starts with the mount path (secret/foo)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from list" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from list" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from list" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from list" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from list" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from list" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from list" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from list" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from rollback" -l version -d 'The version to roll back to' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from rollback" -l mount -d 'The path where the KV engine is mounted. With it, KEY is the path inside the mount; without it, KEY starts with the mount path (secret/foo)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from rollback" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from rollback" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from rollback" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from rollback" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from rollback" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from rollback" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from rollback" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from rollback" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from rollback" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from metadata" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from metadata" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from metadata" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from metadata" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from metadata" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from metadata" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from metadata" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from metadata" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from metadata" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from metadata" -f -a "get" -d 'Print a secret\'s metadata and the state of each version'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from metadata" -f -a "put" -d 'Change a secret\'s settings and custom metadata'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand kv; and __fish_seen_subcommand_from metadata" -f -a "delete" -d 'Delete a secret\'s metadata and every version of it'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and not __fish_seen_subcommand_from enable disable list tune move" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and not __fish_seen_subcommand_from enable disable list tune move" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and not __fish_seen_subcommand_from enable disable list tune move" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and not __fish_seen_subcommand_from enable disable list tune move" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and not __fish_seen_subcommand_from enable disable list tune move" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and not __fish_seen_subcommand_from enable disable list tune move" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and not __fish_seen_subcommand_from enable disable list tune move" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and not __fish_seen_subcommand_from enable disable list tune move" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and not __fish_seen_subcommand_from enable disable list tune move" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and not __fish_seen_subcommand_from enable disable list tune move" -f -a "enable" -d 'Enable a secrets engine at a path (by default the engine\'s type, such as kv/)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and not __fish_seen_subcommand_from enable disable list tune move" -f -a "disable" -d 'Disable the secrets engine at a path, deleting all its data'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and not __fish_seen_subcommand_from enable disable list tune move" -f -a "list" -d 'List the enabled secrets engines'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and not __fish_seen_subcommand_from enable disable list tune move" -f -a "tune" -d 'Change the settings of a mounted secrets engine'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and not __fish_seen_subcommand_from enable disable list tune move" -f -a "move" -d 'Move a secrets engine to a new path, keeping its data and configuration. Every lease issued under the old path is revoked'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from enable" -l path -d 'The path to mount the engine at' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from enable" -l default-lease-ttl -d 'Default time-to-live of leases from this mount, such as 1h ("system" to inherit)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from enable" -l max-lease-ttl -d 'Maximum time-to-live of leases from this mount ("system" to inherit)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from enable" -l description -d 'A human-friendly description of the mount' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from enable" -l options -d 'An engine option as key=value. Repeat for several' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from enable" -l version -d 'The engine\'s version, where it has several (for kv: 1 or 2)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from enable" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from enable" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from enable" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from enable" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from enable" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from enable" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from enable" -l local -d 'Keep this mount on this cluster only: it is not replicated to performance secondaries'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from enable" -l seal-wrap -d 'Wrap the engine\'s storage in an extra layer of encryption (seal wrapping)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from enable" -l external-entropy-access -d 'Give the engine access to the seal\'s entropy source'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from enable" -l force-no-cache -d 'Never cache the engine\'s data, whatever the server\'s cache settings'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from enable" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from enable" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from disable" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from disable" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from disable" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from disable" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from disable" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from disable" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from disable" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from disable" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from list" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from list" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from list" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from list" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from list" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from list" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from list" -l detailed -d 'Show TTLs, replication (local or replicated), options and more for each mount'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from list" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from list" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from tune" -l default-lease-ttl -d 'Default time-to-live of leases from this mount, such as 1h ("system" to inherit)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from tune" -l max-lease-ttl -d 'Maximum time-to-live of leases from this mount ("system" to inherit)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from tune" -l description -d 'A human-friendly description of the mount' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from tune" -l options -d 'An engine option as key=value. Repeat for several' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from tune" -l version -d 'The engine\'s version, where it has several (for kv: 1 or 2)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from tune" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from tune" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from tune" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from tune" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from tune" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from tune" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from tune" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from tune" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from tune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from move" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from move" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from move" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from move" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from move" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from move" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from move" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from move" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand secrets; and __fish_seen_subcommand_from move" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and not __fish_seen_subcommand_from enable disable list tune move" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and not __fish_seen_subcommand_from enable disable list tune move" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and not __fish_seen_subcommand_from enable disable list tune move" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and not __fish_seen_subcommand_from enable disable list tune move" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and not __fish_seen_subcommand_from enable disable list tune move" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and not __fish_seen_subcommand_from enable disable list tune move" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and not __fish_seen_subcommand_from enable disable list tune move" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and not __fish_seen_subcommand_from enable disable list tune move" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and not __fish_seen_subcommand_from enable disable list tune move" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and not __fish_seen_subcommand_from enable disable list tune move" -f -a "enable" -d 'Enable an auth method at a path (by default the method\'s type, such as userpass/)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and not __fish_seen_subcommand_from enable disable list tune move" -f -a "disable" -d 'Disable the auth method at a path, revoking every token it issued'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and not __fish_seen_subcommand_from enable disable list tune move" -f -a "list" -d 'List the enabled auth methods'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and not __fish_seen_subcommand_from enable disable list tune move" -f -a "tune" -d 'Change the settings of an enabled auth method'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and not __fish_seen_subcommand_from enable disable list tune move" -f -a "move" -d 'Move an auth method to a new path, keeping its configuration and users. Every token it issued at the old path is revoked'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from enable" -l path -d 'The path to enable the method at' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from enable" -l default-lease-ttl -d 'Default time-to-live of leases from this mount, such as 1h ("system" to inherit)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from enable" -l max-lease-ttl -d 'Maximum time-to-live of leases from this mount ("system" to inherit)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from enable" -l description -d 'A human-friendly description of the mount' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from enable" -l options -d 'An engine option as key=value. Repeat for several' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from enable" -l version -d 'The engine\'s version, where it has several (for kv: 1 or 2)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from enable" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from enable" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from enable" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from enable" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from enable" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from enable" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from enable" -l local -d 'Keep this method on this cluster only: it is not replicated to performance secondaries'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from enable" -l seal-wrap -d 'Wrap the method\'s storage in an extra layer of encryption (seal wrapping)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from enable" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from enable" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from disable" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from disable" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from disable" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from disable" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from disable" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from disable" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from disable" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from disable" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from list" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from list" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from list" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from list" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from list" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from list" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from list" -l detailed -d 'Show TTLs, token types, replication (local or replicated) and more'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from list" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from list" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from tune" -l default-lease-ttl -d 'Default time-to-live of leases from this mount, such as 1h ("system" to inherit)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from tune" -l max-lease-ttl -d 'Maximum time-to-live of leases from this mount ("system" to inherit)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from tune" -l description -d 'A human-friendly description of the mount' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from tune" -l options -d 'An engine option as key=value. Repeat for several' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from tune" -l version -d 'The engine\'s version, where it has several (for kv: 1 or 2)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from tune" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from tune" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from tune" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from tune" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from tune" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from tune" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from tune" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from tune" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from tune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from move" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from move" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from move" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from move" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from move" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from move" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from move" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from move" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand auth; and __fish_seen_subcommand_from move" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand login" -l method -d 'The type of auth method: token (the default), userpass, ldap, approle, ...' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand login" -l path -d 'The path the auth method is enabled at (by default its type)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand login" -l field -d 'Print only this field of the response' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand login" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand login" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand login" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand login" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand login" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand login" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand login" -l no-store -d 'Do not store the token in ~/.vault-token; only print it'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand login" -l no-print -d 'Store the token but do not print it'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand login" -l token-only -d 'Print only the token, without storing it (-field=token -no-store)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand login" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand login" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand login" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and not __fish_seen_subcommand_from create lookup renew revoke capabilities" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and not __fish_seen_subcommand_from create lookup renew revoke capabilities" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and not __fish_seen_subcommand_from create lookup renew revoke capabilities" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and not __fish_seen_subcommand_from create lookup renew revoke capabilities" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and not __fish_seen_subcommand_from create lookup renew revoke capabilities" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and not __fish_seen_subcommand_from create lookup renew revoke capabilities" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and not __fish_seen_subcommand_from create lookup renew revoke capabilities" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and not __fish_seen_subcommand_from create lookup renew revoke capabilities" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and not __fish_seen_subcommand_from create lookup renew revoke capabilities" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and not __fish_seen_subcommand_from create lookup renew revoke capabilities" -f -a "create" -d 'Create a token, a child of the token the CLI authenticates with unless -orphan'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and not __fish_seen_subcommand_from create lookup renew revoke capabilities" -f -a "lookup" -d 'Print a token\'s properties (the CLI\'s own token when none is given)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and not __fish_seen_subcommand_from create lookup renew revoke capabilities" -f -a "renew" -d 'Renew a token\'s lease (the CLI\'s own token when none is given)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and not __fish_seen_subcommand_from create lookup renew revoke capabilities" -f -a "revoke" -d 'Revoke a token and, unless -mode=orphan, all of its children'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and not __fish_seen_subcommand_from create lookup renew revoke capabilities" -f -a "capabilities" -d 'Print the capabilities a token has on a path'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l id -d 'A custom ID for the token (needs root or sudo)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l policy -d 'A policy to attach. Repeat for several' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l metadata -d 'A key=value pair of metadata. Repeat for several' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l ttl -d 'The token\'s time to live, such as 30m or 24h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l explicit-max-ttl -d 'A hard limit on the token\'s lifetime, renewals included' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l period -d 'Make a periodic token, renewable forever by this period' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l renewable -d 'Whether the token can be renewed (true or false)' -r -f -a "true\t''
false\t''"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l display-name -d 'A name shown in audit logs and lookups' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l use-limit -d 'How many times the token can be used (0: unlimited)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l type -d 'The token type: service or batch' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l role -d 'Create the token from this token role' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l field -d 'Print only this field of the response, such as token' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l orphan -d 'Create a token with no parent: it outlives the token that made it'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l no-default-policy -d 'Do not attach the "default" policy'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from lookup" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from lookup" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from lookup" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from lookup" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from lookup" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from lookup" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from lookup" -l accessor -d 'Treat the argument as a token accessor'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from lookup" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from lookup" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from lookup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from renew" -s i -l increment -d 'Ask for this much more time, such as 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from renew" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from renew" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from renew" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from renew" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from renew" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from renew" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from renew" -l accessor -d 'Treat the argument as a token accessor'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from renew" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from renew" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from renew" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from revoke" -l mode -d '"orphan" keeps the token\'s children, making them orphans' -r -f -a "\t''
orphan\t''
path\t''"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from revoke" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from revoke" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from revoke" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from revoke" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from revoke" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from revoke" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from revoke" -l self -d 'Revoke the token the CLI authenticates with'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from revoke" -l accessor -d 'Treat the argument as a token accessor'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from revoke" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from revoke" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from capabilities" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from capabilities" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from capabilities" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from capabilities" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from capabilities" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from capabilities" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from capabilities" -l accessor -d 'Treat the token argument as an accessor'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from capabilities" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from capabilities" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand token; and __fish_seen_subcommand_from capabilities" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and not __fish_seen_subcommand_from write read list delete fmt" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and not __fish_seen_subcommand_from write read list delete fmt" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and not __fish_seen_subcommand_from write read list delete fmt" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and not __fish_seen_subcommand_from write read list delete fmt" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and not __fish_seen_subcommand_from write read list delete fmt" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and not __fish_seen_subcommand_from write read list delete fmt" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and not __fish_seen_subcommand_from write read list delete fmt" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and not __fish_seen_subcommand_from write read list delete fmt" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and not __fish_seen_subcommand_from write read list delete fmt" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and not __fish_seen_subcommand_from write read list delete fmt" -f -a "write" -d 'Upload a policy from a file, or from stdin with "-"'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and not __fish_seen_subcommand_from write read list delete fmt" -f -a "read" -d 'Print a policy'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and not __fish_seen_subcommand_from write read list delete fmt" -f -a "list" -d 'List the names of all policies'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and not __fish_seen_subcommand_from write read list delete fmt" -f -a "delete" -d 'Delete a policy. Tokens that carry it lose its permissions at once'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and not __fish_seen_subcommand_from write read list delete fmt" -f -a "fmt" -d 'Check a policy file and rewrite it in the canonical HCL layout'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from write" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from write" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from write" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from write" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from write" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from write" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from write" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from write" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from write" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from read" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from read" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from read" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from read" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from read" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from read" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from read" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from read" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from read" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from list" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from list" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from list" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from list" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from list" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from list" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from list" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from list" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from delete" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from delete" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from delete" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from delete" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from delete" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from delete" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from delete" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from delete" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from fmt" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from fmt" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from fmt" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from fmt" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from fmt" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from fmt" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from fmt" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from fmt" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand policy; and __fish_seen_subcommand_from fmt" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and not __fish_seen_subcommand_from enable disable list" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and not __fish_seen_subcommand_from enable disable list" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and not __fish_seen_subcommand_from enable disable list" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and not __fish_seen_subcommand_from enable disable list" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and not __fish_seen_subcommand_from enable disable list" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and not __fish_seen_subcommand_from enable disable list" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and not __fish_seen_subcommand_from enable disable list" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and not __fish_seen_subcommand_from enable disable list" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and not __fish_seen_subcommand_from enable disable list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and not __fish_seen_subcommand_from enable disable list" -f -a "enable" -d 'Enable an audit device, such as: vaultrs audit enable file file_path=/var/log/audit.log'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and not __fish_seen_subcommand_from enable disable list" -f -a "disable" -d 'Disable the audit device at a path'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and not __fish_seen_subcommand_from enable disable list" -f -a "list" -d 'List the enabled audit devices'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from enable" -l path -d 'The path to enable the device at (by default its type)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from enable" -l description -d 'A human-friendly description of the device' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from enable" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from enable" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from enable" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from enable" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from enable" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from enable" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from enable" -l local -d 'Keep this device on this cluster only: it is not replicated to performance secondaries'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from enable" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from enable" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from disable" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from disable" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from disable" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from disable" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from disable" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from disable" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from disable" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from disable" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from list" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from list" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from list" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from list" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from list" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from list" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from list" -l detailed -d 'Show replication (local or replicated) and options too'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from list" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from list" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand audit; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and not __fish_seen_subcommand_from lookup renew revoke" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and not __fish_seen_subcommand_from lookup renew revoke" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and not __fish_seen_subcommand_from lookup renew revoke" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and not __fish_seen_subcommand_from lookup renew revoke" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and not __fish_seen_subcommand_from lookup renew revoke" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and not __fish_seen_subcommand_from lookup renew revoke" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and not __fish_seen_subcommand_from lookup renew revoke" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and not __fish_seen_subcommand_from lookup renew revoke" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and not __fish_seen_subcommand_from lookup renew revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and not __fish_seen_subcommand_from lookup renew revoke" -f -a "lookup" -d 'Print a lease\'s properties'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and not __fish_seen_subcommand_from lookup renew revoke" -f -a "renew" -d 'Extend a lease'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and not __fish_seen_subcommand_from lookup renew revoke" -f -a "revoke" -d 'Revoke a lease, or every lease under a prefix with -prefix'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from lookup" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from lookup" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from lookup" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from lookup" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from lookup" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from lookup" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from lookup" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from lookup" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from lookup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from renew" -s i -l increment -d 'Ask for this much more time, such as 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from renew" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from renew" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from renew" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from renew" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from renew" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from renew" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from renew" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from renew" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from renew" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from revoke" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from revoke" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from revoke" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from revoke" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from revoke" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from revoke" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from revoke" -l prefix -d 'Treat the ID as a prefix and revoke every lease under it'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from revoke" -l force -d 'Remove the leases even when the engine fails to revoke them (needs -prefix)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from revoke" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from revoke" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand lease; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and not __fish_seen_subcommand_from init unseal seal key-status rotate generate-root rekey snapshot" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and not __fish_seen_subcommand_from init unseal seal key-status rotate generate-root rekey snapshot" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and not __fish_seen_subcommand_from init unseal seal key-status rotate generate-root rekey snapshot" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and not __fish_seen_subcommand_from init unseal seal key-status rotate generate-root rekey snapshot" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and not __fish_seen_subcommand_from init unseal seal key-status rotate generate-root rekey snapshot" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and not __fish_seen_subcommand_from init unseal seal key-status rotate generate-root rekey snapshot" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and not __fish_seen_subcommand_from init unseal seal key-status rotate generate-root rekey snapshot" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and not __fish_seen_subcommand_from init unseal seal key-status rotate generate-root rekey snapshot" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and not __fish_seen_subcommand_from init unseal seal key-status rotate generate-root rekey snapshot" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and not __fish_seen_subcommand_from init unseal seal key-status rotate generate-root rekey snapshot" -f -a "init" -d 'Initialize a new server: split its root key into unseal key shares and create the first root token'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and not __fish_seen_subcommand_from init unseal seal key-status rotate generate-root rekey snapshot" -f -a "unseal" -d 'Give one unseal key share; the server unseals when enough were given'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and not __fish_seen_subcommand_from init unseal seal key-status rotate generate-root rekey snapshot" -f -a "seal" -d 'Seal the server: it forgets its key and answers nothing until unsealed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and not __fish_seen_subcommand_from init unseal seal key-status rotate generate-root rekey snapshot" -f -a "key-status" -d 'Print the current encryption key\'s term, install time and use count'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and not __fish_seen_subcommand_from init unseal seal key-status rotate generate-root rekey snapshot" -f -a "rotate" -d 'Add a new encryption key; new data is written with it'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and not __fish_seen_subcommand_from init unseal seal key-status rotate generate-root rekey snapshot" -f -a "generate-root" -d 'Generate a new root token from a quorum of unseal key shares'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and not __fish_seen_subcommand_from init unseal seal key-status rotate generate-root rekey snapshot" -f -a "rekey" -d 'Generate new unseal key shares (optionally a new count and threshold) from a quorum of the current ones; the root key and stored data do not change'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and not __fish_seen_subcommand_from init unseal seal key-status rotate generate-root rekey snapshot" -f -a "snapshot" -d 'Save, restore and inspect snapshots of the server\'s whole encrypted storage'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from init" -s n -l key-shares -d 'How many unseal key shares to create' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from init" -s t -l key-threshold -d 'How many shares are needed to unseal' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from init" -l pgp-keys -d 'Comma-separated files holding PGP public keys (binary, base64 or armored), one per share: each share is encrypted to its key' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from init" -l root-token-pgp-key -d 'A file holding a PGP public key to encrypt the initial root token to' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from init" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from init" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from init" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from init" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from init" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from init" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from init" -l status -d 'Only print whether the server is initialized (exit 0 if it is, 2 if not)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from init" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from init" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from unseal" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from unseal" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from unseal" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from unseal" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from unseal" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from unseal" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from unseal" -l reset -d 'Forget the shares given so far'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from unseal" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from unseal" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from unseal" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from seal" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from seal" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from seal" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from seal" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from seal" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from seal" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from seal" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from seal" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from seal" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from key-status" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from key-status" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from key-status" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from key-status" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from key-status" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from key-status" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from key-status" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from key-status" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from key-status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rotate" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rotate" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rotate" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rotate" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rotate" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rotate" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rotate" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rotate" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rotate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from generate-root" -l decode -d 'Decode an encoded root token (with -otp); "-" reads it from stdin' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from generate-root" -l otp -d 'The one-time password, for -init and -decode' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from generate-root" -l pgp-key -d 'A file holding a PGP public key (binary, base64 or armored) to encrypt the new root token to (with -init)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from generate-root" -l nonce -d 'The nonce of the generation in progress (needed when the key comes from stdin)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from generate-root" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from generate-root" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from generate-root" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from generate-root" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from generate-root" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from generate-root" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from generate-root" -l init -d 'Start a root token generation'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from generate-root" -l cancel -d 'Cancel the root token generation in progress'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from generate-root" -l status -d 'Print the status of the root token generation in progress'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from generate-root" -l generate-otp -d 'Print a one-time password of the length the server expects'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from generate-root" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from generate-root" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from generate-root" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -s n -l key-shares -d 'How many new unseal key shares to create' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -s t -l key-threshold -d 'How many new shares are needed to unseal' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -l nonce -d 'The nonce of the rekey in progress (needed when the key is an argument or stdin)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -l target -d 'What to rekey: "barrier" (the unseal keys) or "recovery" (auto-unseal only)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -l pgp-keys -d 'Comma-separated files holding PGP public keys (binary, base64 or armored), one per new share: each share is encrypted to its key' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -l init -d 'Start a rekey; customize the new split with -key-shares and -key-threshold'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -l cancel -d 'Cancel the rekey in progress (with -verify: restart only the verification). The current unseal keys stay valid'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -l status -d 'Print the status of the rekey in progress (with -verify: of its verification)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -l verify -d 'With -init: the new keys take effect only once a threshold of them is given back. With -status, -cancel or a key: act on that verification'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -l backup -d 'With -pgp-keys: keep the encrypted shares on the server (sys/rekey/backup)'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -l backup-retrieve -d 'Print the backed-up encrypted shares'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -l backup-delete -d 'Delete the backed-up encrypted shares'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from rekey" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from snapshot" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from snapshot" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from snapshot" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from snapshot" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from snapshot" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from snapshot" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from snapshot" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from snapshot" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from snapshot" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from snapshot" -f -a "save" -d 'Save a snapshot of the server\'s whole encrypted storage to FILE (needs sudo on sys/storage/snapshot). A failed save leaves no file'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from snapshot" -f -a "restore" -d 'Replace the server\'s storage with the snapshot in FILE (needs sudo). The server serves the restored data at once; a snapshot of another cluster\'s keys is refused unless -force is given, and then leaves the server sealed until it is unsealed with the snapshot\'s unseal keys'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand operator; and __fish_seen_subcommand_from snapshot" -f -a "inspect" -d 'Check the snapshot in FILE without a server and print its header, size and SHA-256'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand status" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand status" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand status" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand status" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand status" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand status" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand status" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand status" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand unwrap" -l field -d 'Print only this field of the unwrapped response' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand unwrap" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand unwrap" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand unwrap" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand unwrap" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand unwrap" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand unwrap" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand unwrap" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand unwrap" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand unwrap" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand version" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand version" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand version" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand version" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand version" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand version" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand version" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand version" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand version" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand completions" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand completions" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand completions" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand completions" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand completions" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand completions" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand completions" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand completions" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand generate" -l address -d 'Address of the server, with its scheme and port' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand generate" -l ca-cert -d 'Path to a PEM file of CA certificates used to verify the server\'s TLS certificate' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand generate" -l ca-path -d 'Path to a directory of PEM files of CA certificates used to verify the server' -r -F
complete -c vaultrs -n "__fish_vaultrs_using_subcommand generate" -l namespace -l ns -d 'The namespace to send requests to (the X-Vault-Namespace header)' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand generate" -l wrap-ttl -d 'Ask the server to wrap the response in a single-use token valid for this long, such as 5m or 1h' -r
complete -c vaultrs -n "__fish_vaultrs_using_subcommand generate" -l format -d 'Output format: table, json or yaml' -r -f -a "table\t'Aligned key/value tables, for people'
json\t'JSON, as Vault prints it'
yaml\t'YAML'"
complete -c vaultrs -n "__fish_vaultrs_using_subcommand generate" -l tls-skip-verify -d 'Do not verify the server\'s TLS certificate. This is insecure; use it only for tests'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand generate" -l non-interactive -d 'Never ask for input; fail instead where a prompt would be needed'
complete -c vaultrs -n "__fish_vaultrs_using_subcommand generate" -s h -l help -d 'Print help (see more with \'--help\')'
