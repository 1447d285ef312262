import { Argument, type Command, type Option } from "commander";
import { printOwnText } from "../output";

/**
 * `completion bash|zsh|fish`: a completion script generated from the command tree itself, so it
 * never falls behind the commands. It completes command names and option flags; no values, and
 * nothing is asked of the server (completing must not need a login or the network).
 */

/** A command's path below the program (`["creds", "ls"]`), its subcommand names and its flags. */
interface Node {
  path: string[];
  subcommands: string[];
  flags: string[];
}

function flagsOf(options: readonly Option[]): string[] {
  return options.filter((o) => !o.hidden).flatMap((o) => [o.short, o.long].filter((f): f is string => f !== undefined));
}

/** Every command of the tree, the program first. */
export function commandNodes(program: Command, path: string[] = []): Node[] {
  const node: Node = {
    path,
    subcommands: program.commands.map((c) => c.name()),
    flags: [...flagsOf(program.options), "-h", "--help"],
  };
  return [node, ...program.commands.flatMap((c) => commandNodes(c, [...path, c.name()]))];
}

/** The bash script (also what zsh runs, through bashcompinit). */
export function bashScript(program: Command): string {
  const nodes = commandNodes(program);
  const known = nodes.map((n) => n.path.join("/")).filter(Boolean);
  const cases = nodes
    .map((n) => `    "${n.path.join("/")}") words="${[...n.subcommands, ...n.flags].join(" ")}" ;;`)
    .join("\n");
  return `# ghostvault completion for bash: eval "$(ghostvault completion bash)" in ~/.bashrc
_ghostvault() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" next words i
  local known="|${known.join("|")}|"
  for ((i = 1; i < COMP_CWORD; i++)); do
    # After --, the words belong to the command that \`run\` starts.
    [[ "\${COMP_WORDS[i]}" == "--" ]] && return 0
    next="\${path:+$path/}\${COMP_WORDS[i]}"
    [[ "$known" == *"|$next|"* ]] && path="$next"
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _ghostvault ghostvault
`;
}

/** The zsh script: zsh's bash-compatible completion running the bash function. */
export function zshScript(program: Command): string {
  return `# ghostvault completion for zsh: eval "$(ghostvault completion zsh)" in ~/.zshrc
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashScript(program).split("\n").slice(1).join("\n")}`;
}

/** fish quotes: single-quoted, where only \\ and ' need escaping. */
function fishQuote(text: string): string {
  return `'${text.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/** The fish script. */
export function fishScript(program: Command): string {
  const lines = [
    "# ghostvault completion for fish: ghostvault completion fish > ~/.config/fish/completions/ghostvault.fish",
    "complete -c ghostvault -f",
  ];
  const top = program.commands.map((c) => c.name());
  for (const node of commandNodes(program)) {
    // The condition: this node's path has been typed, and none of its subcommands yet.
    const seen = node.path.map((name) => `__fish_seen_subcommand_from ${name}`);
    const notDeeper =
      node.subcommands.length > 0 ? [`not __fish_seen_subcommand_from ${node.subcommands.join(" ")}`] : [];
    const condition =
      node.path.length === 0
        ? `not __fish_seen_subcommand_from ${top.join(" ")}`
        : [...seen, ...notDeeper].join("; and ");
    let command = program as Command;
    for (const name of node.path) command = command.commands.find((c) => c.name() === name)!;
    for (const sub of command.commands)
      lines.push(
        `complete -c ghostvault -n ${fishQuote(condition)} -a ${sub.name()} -d ${fishQuote(sub.description().slice(0, 60))}`,
      );
    for (const option of command.options.filter((o) => !o.hidden)) {
      const flags = [option.long ? `-l ${option.long.slice(2)}` : "", option.short ? `-s ${option.short.slice(1)}` : ""]
        .filter(Boolean)
        .join(" ");
      lines.push(
        `complete -c ghostvault -n ${fishQuote(condition)} ${flags}${option.required || option.optional ? " -r" : ""} -d ${fishQuote(option.description.slice(0, 60))}`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

const SCRIPTS = { bash: bashScript, zsh: zshScript, fish: fishScript } as const;

/** `completion bash|zsh|fish`. */
export function registerCompletion(program: Command): void {
  program
    .command("completion")
    .description("print a shell completion script: bash, zsh or fish")
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(Object.keys(SCRIPTS)))
    .addHelpText(
      "after",
      `
  bash:  eval "$(ghostvault completion bash)"     (in ~/.bashrc)
  zsh:   eval "$(ghostvault completion zsh)"      (in ~/.zshrc)
  fish:  ghostvault completion fish > ~/.config/fish/completions/ghostvault.fish`,
    )
    .action((shell: keyof typeof SCRIPTS) => printOwnText(SCRIPTS[shell](program)));
}
