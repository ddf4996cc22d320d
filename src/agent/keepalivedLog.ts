// keepalived's console output → what the agent logs. Pure.

/**
 * keepalived echoes every statistics request the agent sends (SIGJSON, up to four a second): over 300,000
 * lines a day per node that say nothing. Its other lines (start, reload, VRRP transitions, errors) are news.
 */
const POLL_ECHO = /Printing VRRP (?:as json|data|stats) for process\(\d+\) on signal/;

/** Whether a keepalived output line is worth a log line of the agent. */
export function isNewsworthy(line: string): boolean {
  return line.trim() !== "" && !POLL_ECHO.test(line);
}
