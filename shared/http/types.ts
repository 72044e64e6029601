/**
 * The API Gateway HTTP API (payload format 2.0) shapes reelay's HTTP Lambdas receive and return, narrowed from
 * `@types/aws-lambda` to what API Gateway really sends: `authorizer` is present only on routes with a JWT authorizer.
 */
import type {
  APIGatewayEventRequestContextJWTAuthorizer,
  APIGatewayEventRequestContextV2,
  APIGatewayProxyEventV2WithRequestContext,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';

export type HttpRequestContext = APIGatewayEventRequestContextV2 & {
  authorizer?: APIGatewayEventRequestContextJWTAuthorizer;
};

export type HttpEvent = APIGatewayProxyEventV2WithRequestContext<HttpRequestContext>;

/** The structured 2.0 result; `headers` values are strings here because reelay never emits others. */
export type HttpResult = APIGatewayProxyStructuredResultV2;

export type LambdaContext = Context;

/** Claims as API Gateway passes them: every value flattened to a string (arrays as `"[a b]"`). */
export type JwtClaims = APIGatewayEventRequestContextJWTAuthorizer['jwt']['claims'];

/** `none`: public. `user`: a valid JWT. `admin`: a valid JWT whose `cognito:groups` contains `admin`. */
export type AuthLevel = 'none' | 'user' | 'admin';

export type HttpLambdaHandler = (event: HttpEvent, context: LambdaContext) => Promise<HttpResult>;
