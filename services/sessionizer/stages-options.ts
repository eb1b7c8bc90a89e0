import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../platform/config/env.js';
import { loadBgNbdParams } from './stages/churn/bgnbd-params.js';
import { loadChurnPlaybook } from './stages/churn/playbook.js';
import type { StagesPartitionOptions } from './stages/processor.js';
import { DAY_MS, StagesCoreConfig } from './stages/stages-config.js';
import { loadStageRules } from './stages/stage-rules.js';
import type { SessionizerConfig } from './config.js';

function read(file: string, variable: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`${variable} ${file}: ${(error as Error).message}`]);
  }
}

/** Wraps a loader's error (which names file and line) as a configuration error naming the variable. */
function load<T>(variable: string, file: string, loader: (text: string, file: string) => T): T {
  const text = read(file, variable);
  try {
    return loader(text, file);
  } catch (error) {
    throw new ConfigError([`${variable}: ${(error as Error).message}`]);
  }
}

/** Rules, churn model and tunables, read once at start; any problem stops the start. */
export function loadStagesOptions(config: Pick<SessionizerConfig, 'STAGES_CONFIG_FILE' | 'CONVERSION_WINDOW_DAYS' | 'CHURN_THRESHOLD_PERCENT' | 'STAGE_RULES_FILE' | 'BGNBD_PARAMS_FILE' | 'CHURN_PLAYBOOK_FILE'>): StagesPartitionOptions {
  const overlay = config.STAGES_CONFIG_FILE ? (parseYaml(read(config.STAGES_CONFIG_FILE, 'STAGES_CONFIG_FILE')) ?? {}) : {};
  const parsed = StagesCoreConfig.safeParse({
    conversionWindowMs: config.CONVERSION_WINDOW_DAYS * DAY_MS,
    ...overlay,
    churn: { threshold: config.CHURN_THRESHOLD_PERCENT / 100, ...(overlay.churn ?? {}) },
  });
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `STAGES_CONFIG_FILE ${i.path.join('.')}: ${i.message}`));
  }
  return {
    rules: load('STAGE_RULES_FILE', config.STAGE_RULES_FILE, loadStageRules),
    config: parsed.data,
    churn: {
      bgnbd: load('BGNBD_PARAMS_FILE', config.BGNBD_PARAMS_FILE, loadBgNbdParams),
      playbook: load('CHURN_PLAYBOOK_FILE', config.CHURN_PLAYBOOK_FILE, loadChurnPlaybook),
    },
  };
}
