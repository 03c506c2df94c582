using ApiPlatform.Gateway.Identity;
using ApiPlatform.Gateway.Json;
using ApiPlatform.Grains.Users;

namespace ApiPlatform.Gateway.Endpoints;

// Request bodies of accounts and sessions: each record is its OpenAPI schema and holds its parser (400 naming every bad
// field). They are parsed in the handler, not bound as parameters: binding would run before the endpoint filters that
// authenticate.

/// <summary>The body of <c>POST /v1/auth/register</c>; read as a registration (no profile: an empty one).</summary>
public sealed record RegisterRequest(string Email, string Username, string Password, ProfileResponse? Profile)
{
    public static async Task<Registration> ReadAsync(HttpRequest request)
    {
        var body = await JsonBody.ReadAsync(request);
        var email = Validation.Email(body);
        var username = Validation.Username(body, required: true);
        var password = Validation.Password(body);
        var profile = AuthApi.ReadProfile(body.Object("profile"));
        body.ThrowIfInvalid();
        return new Registration(email!, username!, password!, profile);
    }
}

/// <summary>The body of <c>POST /v1/auth/login</c>.</summary>
public sealed record LoginRequest(string Email, string Password)
{
    public static async Task<LoginRequest> ReadAsync(HttpRequest request)
    {
        var body = await JsonBody.ReadAsync(request);
        var email = body.String("email", required: true, maxLength: 254);
        // Not the registration rules: a login must not say which rule a stored password would break.
        var password = body.String("password", required: true, minLength: 1, maxLength: Validation.PasswordMaxLength, trim: false);
        body.ThrowIfInvalid();
        return new LoginRequest(email!, password!);
    }
}

/// <summary>The body of <c>POST /v1/auth/refresh</c>.</summary>
public sealed record RefreshRequest(string RefreshToken)
{
    public static async Task<RefreshRequest> ReadAsync(HttpRequest request)
    {
        var body = await JsonBody.ReadAsync(request);
        var token = body.String("refresh_token", required: true, minLength: 1, maxLength: 200);
        body.ThrowIfInvalid();
        return new RefreshRequest(token!);
    }
}

/// <summary>The body of the mail requests (password reset, new verification mail).</summary>
public sealed record EmailRequest(string Email)
{
    public static async Task<EmailRequest> ReadAsync(HttpRequest request)
    {
        var body = await JsonBody.ReadAsync(request);
        var email = Validation.Email(body);
        body.ThrowIfInvalid();
        return new EmailRequest(email!);
    }
}

/// <summary>A body that carries one mailed token (email verification; an invitation's acceptance has its own record).</summary>
public sealed record TokenRequest(string Token)
{
    public static async Task<TokenRequest> ReadAsync(HttpRequest request)
    {
        var body = await JsonBody.ReadAsync(request);
        var token = ReadToken(body);
        body.ThrowIfInvalid();
        return new TokenRequest(token!);
    }

    internal static string? ReadToken(BodyReader body) => body.String("token", required: true, minLength: 1, maxLength: 200);
}

/// <summary>The body of <c>POST /v1/auth/password-reset/confirm</c>: the mailed token and the new password.</summary>
public sealed record PasswordResetConfirmRequest(string Token, string NewPassword)
{
    public static async Task<PasswordResetConfirmRequest> ReadAsync(HttpRequest request)
    {
        var body = await JsonBody.ReadAsync(request);
        var token = TokenRequest.ReadToken(body);
        var password = Validation.Password(body, "new_password");
        body.ThrowIfInvalid();
        return new PasswordResetConfirmRequest(token!, password!);
    }
}

/// <summary>The body of <c>PATCH /v1/users/me</c>; read as the new username (null: unchanged) and the profile update.</summary>
public sealed record UpdateMeRequest(string? Username, ProfileResponse? Profile)
{
    private static readonly string[] ProfileFields = ["first_name", "last_name", "avatar_url"];
    private static readonly string[] FixedFields = ["email", "password", "role", "plan"];

    public static async Task<(string? Username, ProfileUpdate Profile)> ReadAsync(HttpRequest request)
    {
        var body = await JsonBody.ReadAsync(request);
        foreach (var field in FixedFields.Where(body.Has))
        {
            body.AddError(field, "cannot be changed through this endpoint");
        }

        var username = Validation.Username(body, required: false);
        if (body.IsNull("username"))
        {
            body.AddError("username", "cannot be null");
        }

        var profile = body.Object("profile");
        var update = AuthApi.ReadProfile(profile);
        body.ThrowIfInvalid();

        var cleared = profile is null ? [] : ProfileFields.Where(profile.IsNull).ToList();
        return (username, new ProfileUpdate(update.FirstName, update.LastName, update.AvatarUrl, cleared));
    }
}

/// <summary>The body of <c>PATCH /v1/users/{id}</c> (administrators): absent fields stay; none of them can be null.</summary>
public sealed record UpdateUserRequest(string? Role, string? Plan, bool? Disabled)
{
    public static async Task<UpdateUserRequest> ReadAsync(HttpRequest request, PlanOptions plans)
    {
        var body = await JsonBody.ReadAsync(request);
        var role = body.Has("role") ? body.String("role", required: true) : null;
        if (role is not null && !SystemRoles.IsValid(role))
        {
            body.AddError("role", $"must be '{SystemRoles.User}' or '{SystemRoles.Admin}'");
        }

        var plan = Validation.Plan(body, plans, nullable: false);
        var disabled = body.Has("disabled") ? body.Boolean("disabled", required: true) : null;
        body.ThrowIfInvalid();
        return new UpdateUserRequest(role, plan, disabled);
    }
}

/// <summary>The body of <c>POST /v1/users/me/password</c>: the current password and the new one.</summary>
public sealed record ChangePasswordRequest(string CurrentPassword, string NewPassword)
{
    public static async Task<ChangePasswordRequest> ReadAsync(HttpRequest request)
    {
        var body = await JsonBody.ReadAsync(request);
        var current = body.String("current_password", required: true, minLength: 1, maxLength: Validation.PasswordMaxLength, trim: false);
        var next = Validation.Password(body, "new_password");
        body.ThrowIfInvalid();
        return new ChangePasswordRequest(current!, next!);
    }
}
