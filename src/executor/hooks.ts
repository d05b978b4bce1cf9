/**
 * Extension points around one model's build, used by ingest (landing-zone sources), stream()
 * and expectations. A hook runs inside the model's transaction, on the model's connection, so
 * whatever it writes (ledger rows, watermarks, quarantine) commits or rolls back with the rows.
 */
import type { Adapter } from '../adapter/types.js';
import type { Column, CompiledNode, ModelConfig } from '../core/types.js';

export interface HookContext {
  /** The model's connection, inside its transaction. */
  readonly tx: Adapter;
  readonly node: CompiledNode;
  /** The target exists and this is not a full refresh (is_incremental() is true). */
  readonly incremental: boolean;
  readonly fullRefresh: boolean;
  readonly runId: string;
  readonly batchId: number;
  readonly existing?: { readonly kind: 'table' | 'view'; readonly columns: readonly Column[] };
  readonly projectRoot: string;
  /** dbt's --empty: the model is built from zero rows; read nothing, record nothing as consumed. */
  readonly empty?: boolean;
}

export interface HookOutcome {
  /** A replacement for the model's SELECT (e.g. filtered by expectations). */
  readonly sql?: string;
  /** Config the model is planned with for this build (e.g. on_schema_change for landing sources that add columns). */
  readonly config?: Partial<ModelConfig>;
  /** Runs after the model's statements, still inside the transaction. */
  readonly finalize?: (tx: Adapter, rowsWritten: number) => Promise<void>;
  /** Runs once the model's transaction has ended (committed or rolled back): release scratch resources. */
  readonly cleanup?: () => Promise<void>;
  /**
   * The model's SELECT reads sources whose rows come in landing order (files as discovered, then
   * lines): a plan that breaks ties between rows of a key in landing order (insert_new, cdc) may
   * take the SELECT's row order as arrival order when its rows carry no `_lake_file_mtime`,
   * `_lake_file`.
   */
  readonly arrivalOrder?: boolean;
  /** Figures for the run output and run_results (files, bad_records, ...). */
  readonly stats?: Readonly<Record<string, unknown>>;
}

export interface NodeHook {
  readonly name: string;
  /** Return undefined when the hook has nothing to do for this node. */
  prepare(ctx: HookContext, sql: string): Promise<HookOutcome | undefined>;
}
