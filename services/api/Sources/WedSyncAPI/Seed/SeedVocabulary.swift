/// The words the data generator builds names, places and plans from. Invented or common; no real person's data.
enum SeedVocabulary {
    static let firstNames = [
        "Olivia", "Amelia", "Isla", "Ava", "Ivy", "Freya", "Lily", "Florence", "Mia", "Willow", "Rosie", "Sophia",
        "Isabella", "Grace", "Daisy", "Sienna", "Poppy", "Elsie", "Emily", "Ella", "Evelyn", "Phoebe", "Sofia",
        "Evie", "Charlotte", "Harper", "Matilda", "Ruby", "Alice", "Jessica", "Chloe", "Hannah", "Priya", "Aisha",
        "Zara", "Maya", "Leah", "Niamh", "Siobhan", "Megan", "Noah", "Oliver", "George", "Arthur", "Muhammad",
        "Leo", "Harry", "Oscar", "Archie", "Henry", "Theodore", "Freddie", "Jack", "Charlie", "Finley", "Thomas",
        "Alfie", "Lucas", "William", "Isaac", "James", "Jacob", "Daniel", "Samuel", "Joshua", "Ethan", "Adam",
        "Ryan", "Liam", "Callum", "Rhys", "Owen", "Dylan", "Arjun", "Ravi", "Kai", "Omar", "Yusuf", "Mateo",
        "Luca", "Max", "Sebastian", "Rory", "Ewan", "Connor", "Jamie", "Alex", "Sam", "Robin", "Jordan",
    ]
    static let lastNames = [
        "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
        "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall",
        "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill", "Ward",
        "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen", "James", "Scott",
        "Phillips", "Watson", "Davis", "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly",
        "Cook", "Carter", "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox",
        "Richards", "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum", "Wilkinson",
        "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt", "Hussain", "Campbell",
        "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd", "Butler", "Russell",
        "Barker", "Fisher", "Stevens", "Jenkins", "Murray", "Dixon", "Harvey", "Graham", "Pearson", "Ahmed",
        "Fletcher", "Walsh", "Kaur", "Gibson", "Howard", "Andrews", "Stewart", "Elliott", "Reynolds", "Saunders",
        "Payne", "Fox", "Ford", "Pearce", "Day", "Brooks", "West", "Lawrence", "Cole", "Atkinson", "Bradley",
        "Spencer", "Gill", "Dawson", "Ball", "Burton", "O'Brien", "Watts", "Rose", "Booth", "Perry", "Ryan",
        "Grant", "Wells", "Armstrong", "Francis", "Rees", "Hayes", "Hart", "Hudson", "Newman", "Barrett", "Gordon",
    ]
    static let organizationAdjectives = [
        "Golden Hour", "Wildflower", "Silver Birch", "Ivory", "Blush", "Evergreen", "Willow & Oak", "Honeysuckle",
        "Lavender", "Velvet", "Moonlight", "Sage", "Rosewood", "Meadow", "Copper Beech", "Little Church",
        "Northern Light", "Coastal", "Orchard", "Bluebell", "Harbour", "Hedgerow", "Linen", "Confetti",
    ]
    static let organizationKinds = [
        "Photography", "Films", "Weddings", "Events", "Florals", "Catering", "Planning", "Bridal",
        "Cakes", "Music", "Hair & Makeup", "Venue Styling",
    ]
    static let venues = [
        "Hedsor House", "The Barn at Bury Court", "Kew Gardens Orangery", "Aynhoe Park", "Gaynes Park",
        "Botleys Mansion", "Stanford Hall", "Tithe Barn", "Old Rectory", "Castle Howard", "Manor by the Lake",
        "Riverside Boathouse", "Cliff Top Hotel", "The Walled Garden", "Priory Hall", "Mill House", "Town Hall",
        "St Mary's Church", "The Old Dairy", "Harbour Lights", "Woodland Glade", "Country Club", "Grand Ballroom",
    ]
    static let cities = [
        "London", "Manchester", "Birmingham", "Leeds", "Bristol", "Edinburgh", "Glasgow", "Cardiff", "York",
        "Bath", "Oxford", "Cambridge", "Brighton", "Norwich", "Exeter", "Chester", "Harrogate", "Cotswolds",
        "Lake District", "Cornwall", "Belfast", "Newcastle", "Nottingham", "Sheffield",
    ]
    static let vendorCategories = Vendor.categories
    static let vendorNameEndings = ["& Co", "Studio", "Collective", "House", "Ltd", "Events", "Company"]
    static let contactRoles = ["owner", "events manager", "coordinator", "sales", "head chef", "director"]
    static let dietary = [
        "vegetarian", "vegan", "gluten free", "nut allergy", "halal", "kosher", "dairy free", "pescatarian",
    ]
    static let journeyStages = [
        "Enquiry", "Consultation", "Proposal sent", "Contract signed", "Deposit paid", "Planning",
        "Final details", "Wedding day", "Delivered",
    ]
    static let journeyNames = ["Full wedding service", "Elopement package", "Two-day celebration", "Ceremony only"]
    static let scheduleRoles = ["lead", "second shooter", "assistant", "coordinator", "setup crew", "musician"]
    static let timeline = [
        ("Arrival and setup", 45), ("Bridal preparations", 60), ("Groom preparations", 45), ("First look", 20),
        ("Guests arrive", 30), ("Ceremony", 45), ("Confetti and drinks reception", 90), ("Group photos", 30),
        ("Couple portraits", 30), ("Wedding breakfast", 120), ("Speeches", 45), ("Cake cutting", 15),
        ("First dance", 10), ("Evening guests arrive", 30), ("Band", 120), ("Sparkler exit", 15),
    ]
    static let budgetCategories = [
        "Venue", "Catering", "Photography", "Videography", "Flowers", "Attire", "Rings", "Music", "Cake",
        "Stationery", "Transport", "Hair and makeup", "Favours", "Honeymoon", "Decor",
    ]
}
