import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { AppError } from '../../lib/app-error.ts';
import { ERROR_RESPONSES } from '../schemas.ts';

/** GET /healthz: 200 `{ status: "ok" }` when the database answers, 503 otherwise (for load balancers). */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/healthz', { schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }), ...ERROR_RESPONSES } } }, async (request) => {
    try {
      await sql`SELECT 1`.execute(app.deps.db);
    } catch (error) {
      request.log.warn({ err: error }, 'health check: database did not answer');
      throw new AppError('service_unavailable');
    }
    return { status: 'ok' as const };
  });
}
