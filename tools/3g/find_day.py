#!/usr/bin/env python3
"""Finds what scripts/3g measures, through the API itself (loopback, the tenant's token in $WS3G_TOKEN):

- the tenant's busiest day D: the day with the most supplier schedules among the days with the most booked weddings
  in the coming year (or --date);
- one wedding of D (a client with a guest list that has guests) and one of its guests, whose RSVP the mutation
  between warm loads flips.

Prints one JSON object: {"date", "schedules", "client", "guest_list", "guest", "rsvp"}.
"""
import argparse
import collections
import datetime
import json
import os
import sys
import urllib.parse
import urllib.request


def get(api, path, token):
    request = urllib.request.Request(
        api.rstrip("/") + path, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def busiest_days(api, token, first, last, candidates):
    """The `candidates` days with the most booked weddings from `first` to `last` (the client list, page by page)."""
    weddings = collections.Counter()
    cursor = None
    while True:
        query = {"status": "booked", "from": first, "to": last, "limit": 200}
        if cursor:
            query["cursor"] = cursor
        page = get(api, "/api/clients?" + urllib.parse.urlencode(query), token)
        weddings.update(client["weddingDate"] for client in page["clients"])
        cursor = page.get("nextCursor")
        if not cursor:
            break
    return [day for day, _ in sorted(weddings.items(), key=lambda item: (-item[1], item[0]))[:candidates]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--api", required=True, help="the API's base URL, e.g. http://127.0.0.1:8090")
    ap.add_argument("--date", help="the day to measure (default: the busiest)")
    ap.add_argument("--days", type=int, default=365, help="how far ahead to look for the busiest day")
    ap.add_argument("--candidates", type=int, default=5, help="days whose schedules are counted")
    args = ap.parse_args()
    token = os.environ.get("WS3G_TOKEN") or sys.exit("WS3G_TOKEN: the tenant's token is missing")

    if args.date:
        days = [args.date]
    else:
        today = datetime.datetime.now(datetime.timezone.utc).date()
        days = busiest_days(api=args.api, token=token, first=today.isoformat(),
                            last=(today + datetime.timedelta(days=args.days)).isoformat(), candidates=args.candidates)
        if not days:
            sys.exit("no booked wedding in the coming year: is the stack seeded?")
    best = None
    for day in days:
        schedules = get(args.api, f"/api/supplier-schedules?date={day}", token)["schedules"]
        if best is None or len(schedules) > len(best[1]):
            best = (day, schedules)
    day, schedules = best
    if not schedules:
        sys.exit(f"{day}: no supplier schedule on that day")

    # One wedding of the day with guests: the mutation flips one guest's RSVP, which changes the guest numbers of
    # the wedding-day screen (and its guest-summary part), and the wedding's guest list.
    for client in sorted({schedule["clientId"] for schedule in schedules}):
        lists = get(args.api, f"/api/guest-lists?client_id={client}", token)["guestLists"]
        for guest_list in lists:
            if guest_list["guests"]:
                guest = guest_list["guests"][0]
                print(json.dumps({"date": day, "schedules": len(schedules), "client": client,
                                  "guest_list": guest_list["id"], "guest": guest["id"], "rsvp": guest["rsvpStatus"]}))
                return 0
    sys.exit(f"{day}: none of the day's weddings has a guest")


if __name__ == "__main__":
    sys.exit(main())
