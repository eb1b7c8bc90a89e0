import { objectAt, stringAt, type JsonObject } from './json-object.js';

/**
 * What kind of SDK sent an event, from `context.library.name`. Patterns cover the Segment and
 * RudderStack SDK names; anything else is `unknown` and other signals decide.
 */
export type LibraryKind = 'mobile' | 'browser' | 'server' | 'unknown';

const MOBILE_LIBRARY = /(^|[-/.])(ios|android|react-native|flutter|kotlin|swift|xamarin|cordova|capacitor)\b/i;
const BROWSER_LIBRARY = /^(analytics\.js|analytics-next|@segment\/analytics-next|rudder-?(sdk|analytics)-?js|RudderLabs JavaScript SDK)$/i;
const SERVER_LIBRARY = /(^|[-/.])(node|python|ruby|go|java|php|dotnet|net|clojure|rust|elixir|rb|py)\b/i;

export function libraryKind(context: JsonObject): LibraryKind {
  const name = stringAt(objectAt(context, 'library'), 'name');
  if (name === null) return 'unknown';
  if (MOBILE_LIBRARY.test(name)) return 'mobile';
  if (BROWSER_LIBRARY.test(name)) return 'browser';
  if (SERVER_LIBRARY.test(name)) return 'server';
  return 'unknown';
}
