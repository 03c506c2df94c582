namespace ApiPlatform.Gateway.Errors;

/// <summary>The machine-readable error codes of the contract, with their HTTP status and title.</summary>
public static class ProblemCodes
{
    public const string InvalidRequest = "invalid_request";
    public const string AuthenticationRequired = "authentication_required";
    public const string InvalidCredentials = "invalid_credentials";
    public const string InvalidToken = "invalid_token";
    public const string InvalidApiKey = "invalid_api_key";
    public const string ExpiredApiKey = "expired_api_key";
    public const string RevokedApiKey = "revoked_api_key";
    public const string InsufficientPermissions = "insufficient_permissions";
    public const string AccountDisabled = "account_disabled";
    public const string EmailNotVerified = "email_not_verified";
    public const string ResourceNotFound = "resource_not_found";
    public const string MethodNotAllowed = "method_not_allowed";
    public const string AlreadyExists = "already_exists";
    public const string Conflict = "conflict";
    public const string PreconditionFailed = "precondition_failed";
    public const string PreconditionRequired = "precondition_required";
    public const string NotAcceptable = "not_acceptable";
    public const string PayloadTooLarge = "payload_too_large";
    public const string UnsupportedMediaType = "unsupported_media_type";
    public const string UriTooLong = "uri_too_long";
    public const string HeadersTooLarge = "request_headers_too_large";
    public const string PlanLimitReached = "plan_limit_reached";
    public const string RateLimitExceeded = "rate_limit_exceeded";
    public const string InternalServerError = "internal_server_error";
    public const string ServiceUnavailable = "service_unavailable";

    /// <summary>The fixed title of each code (RFC 9457: same for every occurrence of a type).</summary>
    public static string TitleOf(string code) => code switch
    {
        InvalidRequest => "The request is invalid.",
        AuthenticationRequired => "Authentication is required.",
        InvalidCredentials => "The credentials are invalid.",
        InvalidToken => "The token is invalid or expired.",
        InvalidApiKey => "The API key is invalid.",
        ExpiredApiKey => "The API key has expired.",
        RevokedApiKey => "The API key has been revoked.",
        InsufficientPermissions => "Insufficient permissions.",
        AccountDisabled => "The account is disabled.",
        EmailNotVerified => "The email address is not verified.",
        ResourceNotFound => "The resource was not found.",
        MethodNotAllowed => "The method is not allowed on this resource.",
        AlreadyExists => "The resource already exists.",
        Conflict => "The request conflicts with the current state.",
        PreconditionFailed => "A precondition failed.",
        PreconditionRequired => "A precondition is required.",
        NotAcceptable => "No acceptable representation is available.",
        PayloadTooLarge => "The request body is too large.",
        UnsupportedMediaType => "The media type is not supported.",
        UriTooLong => "The request target is too long.",
        HeadersTooLarge => "The request headers are too large.",
        PlanLimitReached => "The plan limit has been reached.",
        RateLimitExceeded => "The rate limit has been exceeded.",
        ServiceUnavailable => "The service is temporarily unavailable.",
        _ => "An internal error occurred.",
    };
}
