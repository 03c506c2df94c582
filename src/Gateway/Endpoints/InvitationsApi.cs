using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Http;
using ApiPlatform.Gateway.Json;
using ApiPlatform.Gateway.Organizations;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary>The body of <c>POST /v1/invitations/accept</c>: the token from the invitation mail.</summary>
public sealed record AcceptInvitationRequest(string Token)
{
    // Parsed in the handler, after the filters that authenticate (see CreateInvitationRequest).
    public static async Task<AcceptInvitationRequest> ReadAsync(HttpRequest request) =>
        new((await TokenRequest.ReadAsync(request)).Token);
}

/// <summary><c>/v1/invitations</c>: accepting an invitation mailed to the caller.</summary>
public static class InvitationsApi
{
    public static IEndpointRouteBuilder MapInvitationsApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGroup("/v1/invitations").WithTags(ApiTags.Organizations).RequireCaller()
            .MapPost("/accept", AcceptAsync)
            .Describe("acceptInvitation", "Accept an invitation",
                "Takes the token from the invitation mail. The logged-in user (an access token; 403 for an API key) whose verified "
                + "email is the invited one joins the organization with the invited role and gets the organization with that role. "
                + "Unverified email: 403 email_not_verified; another email: 403 insufficient_permissions; unknown, used, revoked or "
                + "expired token: 404; a member already: 409. Honours Idempotency-Key.")
            .WithIdempotency()
            .Accepts<AcceptInvitationRequest>("application/json")
            .Produces<DataEnvelope<OrganizationResponse>>(StatusCodes.Status201Created)
            .ProducesErrors(400, 401, 403, 404, 409, 413, 415);
        return routes;
    }

    /// <summary>
    /// The logged-in user joins the organization with the invited role, if the invitation was sent to the user's email
    /// and that email is verified. Answers the organization, with the caller's new role.
    /// </summary>
    private static async Task<Created<DataEnvelope<OrganizationResponse>>> AcceptAsync(HttpContext context, InvitationService invitations)
    {
        var caller = context.GetCaller();
        if (caller.SessionId is null)
        {
            throw ApiException.Forbidden("Accept an invitation with an access token from a login, not an API key.");
        }

        var token = (await AcceptInvitationRequest.ReadAsync(context.Request)).Token;
        var outcome = await invitations.AcceptAsync(caller.UserId!, token);
        var organization = outcome.Organization!;
        return TypedResults.Created($"/v1/organizations/{organization.Id}",
            new DataEnvelope<OrganizationResponse>(OrganizationResponse.From(organization, outcome.Member!.Role)));
    }
}
